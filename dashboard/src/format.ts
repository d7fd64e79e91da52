// How numbers reach the eye: always with their unit, power in W/kW/MW by size, signs as docs/ARCHITECTURE.md
// defines them (battery + = discharging, grid + = import), and "—" for a value nobody measured.

const DASH = '—';

function finite(v: number | null | undefined): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** 1234 -> "1.23 kW", -850 -> "-850 W". */
export function formatPower(w: number | null | undefined): string {
  if (!finite(w)) return DASH;
  const a = Math.abs(w);
  if (a >= 1e6) return `${(w / 1e6).toFixed(2)} MW`;
  if (a >= 1e3) return `${(w / 1e3).toFixed(a >= 1e5 ? 0 : a >= 1e4 ? 1 : 2)} kW`;
  return `${Math.round(w)} W`;
}

export function formatEnergy(wh: number | null | undefined): string {
  if (!finite(wh)) return DASH;
  const a = Math.abs(wh);
  if (a >= 1e6) return `${(wh / 1e6).toFixed(2)} MWh`;
  if (a >= 1e3) return `${(wh / 1e3).toFixed(1)} kWh`;
  return `${Math.round(wh)} Wh`;
}

export function formatPct(v: number | null | undefined, digits = 1): string {
  return finite(v) ? `${v.toFixed(digits)} %` : DASH;
}

/** State of health: one formatter for every page (the BMS's figure and the model's estimate alike). */
export function formatSoh(v: number | null | undefined): string {
  return formatPct(v, 1);
}

export function formatTemp(c: number | null | undefined): string {
  return finite(c) ? `${c.toFixed(1)} °C` : DASH;
}

export function formatVolt(v: number | null | undefined, digits = 2): string {
  return finite(v) ? `${v.toFixed(digits)} V` : DASH;
}

/** Cell spread in millivolts: the unit the 100 mV alarm threshold is stated in. */
export function formatMillivolt(v: number | null | undefined): string {
  return finite(v) ? `${Math.round(v * 1000)} mV` : DASH;
}

export function formatEur(v: number | null | undefined): string {
  if (!finite(v)) return DASH;
  return `${v < 0 ? '−' : ''}€${Math.abs(v).toFixed(2)}`;
}

export function formatPrice(eurPerMWh: number | null | undefined): string {
  return finite(eurPerMWh) ? `${eurPerMWh.toFixed(1)} €/MWh` : DASH;
}

/** What the battery is doing, in words: the sign convention is easy to misread on a chart. */
export function batteryDirection(w: number | null | undefined): string {
  if (!finite(w)) return 'unknown';
  if (Math.abs(w) < 20) return 'idle';
  return w > 0 ? 'discharging' : 'charging';
}

export function gridDirection(w: number | null | undefined): string {
  if (!finite(w)) return 'unknown';
  if (Math.abs(w) < 20) return 'balanced';
  return w > 0 ? 'importing' : 'exporting';
}

function toMs(t: number | string | null | undefined): number | null {
  if (t === null || t === undefined) return null;
  const ms = typeof t === 'number' ? t : Date.parse(t);
  return Number.isFinite(ms) ? ms : null;
}

/** "12 s ago", "5 min ago", "3 h ago", "2 d ago". */
export function formatAgo(t: number | string | null | undefined, now = Date.now()): string {
  const ms = toMs(t);
  if (ms === null) return 'never';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

// Dates with the month in words ("7 Dec 2026", "Dec 7, 2026"): in the reader's locale and never
// ambiguous, where 12/07/2026 reads as two different days on either side of the Atlantic.
const DAY: Intl.DateTimeFormatOptions = { year: 'numeric', month: 'short', day: 'numeric' };
const CLOCK: Intl.DateTimeFormatOptions = { hour: '2-digit', minute: '2-digit' };

/** A moment: "7 Dec 2026, 06:19:25" (en-GB), "Dec 7, 2026, 06:19:25 AM" (en-US). */
export function formatTime(t: number | string | null | undefined, locale?: string): string {
  const ms = toMs(t);
  if (ms === null) return DASH;
  return new Date(ms).toLocaleString(locale, { ...DAY, ...CLOCK, second: '2-digit' });
}

/** A moment to the minute, for tables and captions. */
export function formatMinute(t: number | string | null | undefined, locale?: string): string {
  const ms = toMs(t);
  if (ms === null) return DASH;
  return new Date(ms).toLocaleString(locale, { ...DAY, ...CLOCK });
}

/** A calendar day; `utc` for periods cut at UTC midnight (they are labelled by their UTC date). */
export function formatDay(t: number | string | null | undefined, opts: { utc?: boolean; locale?: string } = {}): string {
  const ms = toMs(t);
  if (ms === null) return DASH;
  return new Date(ms).toLocaleDateString(opts.locale, { ...DAY, timeZone: opts.utc ? 'UTC' : undefined });
}

export function formatClock(t: number | string | null | undefined, locale?: string): string {
  const ms = toMs(t);
  if (ms === null) return DASH;
  return new Date(ms).toLocaleTimeString(locale, { ...CLOCK, second: '2-digit' });
}

const ISO_MOMENT = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})/g;

/** Text that carries ISO timestamps (model names such as "forecast.onnx 2026-12-07T06:19:25.510Z") with them as dates. */
export function humanizeMoments(text: string, locale?: string): string {
  return text.replace(ISO_MOMENT, (iso) => formatMinute(iso, locale));
}

export { toMs };
