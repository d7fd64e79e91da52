// One colour per quantity, on every chart and KPI of the dashboard (styles.css holds the same values
// as CSS variables): a battery is green on the site page and on the schedule alike.
export const COLORS = {
  /** Battery power, and planned discharge. */
  discharge: '#16a34a',
  /** Planned charge: a colour of its own, not the grid's blue. */
  charge: '#0891b2',
  grid: '#2563eb',
  load: '#9333ea',
  pv: '#d97706',
  setpoint: '#0f172a',
  soc: '#475569',
  price: '#b45309',
  exportPrice: '#7c3aed',
  alarm: '#b91c1c',
  tempMax: '#dc2626',
  tempMin: '#2563eb',
  spread: '#a16207',
} as const;
