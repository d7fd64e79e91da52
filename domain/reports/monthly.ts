// A site's monthly report: what the battery did and earned in one calendar month, computed from
// the month's stored telemetry (as interval samples), the alarms raised and the spot prices the
// site's plans carried. Pure: the cloud reads the data (runtime/reports/monthly-source.ts), this
// module only does the arithmetic, so every figure can be recomputed by hand (README, "Monthly report").
//
// Definitions:
// - Months are calendar months in UTC: sites carry no time zone yet.
// - A sample is one interval of the store (mean per field, number of records). Each record stands
//   for one telemetry interval (`recordMs`), so a sample covers min(span, records x recordMs): a
//   silence is a gap, never bridged by interpolation, however long it is.
// - Energy: the battery's DC power x covered time, split by direction record by record (the
//   store's batteryDischargeW and batteryChargeW); for records stored before that split, the
//   interval's mean power goes to discharged when positive, to charged when negative.
// - Equivalent full cycles: (charged + discharged) / 2 / the battery's rated energy (the BMS's
//   WHRtg, the newest in the month), not its aged capacity.
// - Availability: covered time in which the envelope mode was NORMAL or DERATED, over the month (up
//   to now for the current month). A sample that holds controllable and uncontrollable records is
//   split by its mean mode (exact when it holds two modes, as when a site enters or leaves
//   SAFE_MODE; records without a mode count as not controllable). Records the edge buffered through a link outage and
//   sent later count: the site ran and was controlled; the outage shows as COMMUNICATION_LOST.
// - Bill: 15-minute windows; each window's grid energy (with the battery) and grid + PCS energy
//   (without it) is priced by siteBill (domain/tariff/tariff.ts) at the spot price of the plan step
//   holding the window's start. Windows without a price are left out of both bills and reported.
// - Import peak: the highest mean import of a 15-minute window over the time it was measured.
import { MODES } from '../contracts';
import { siteBill, type Bill, type BillStep, type SiteTariff } from '../tariff/tariff';
import { monthBounds, monthText, previousMonth, type ReportMonth } from './month';

export { monthBounds, monthOf, monthText, parseMonth, previousMonth, type ReportMonth } from './month';

/** One interval of stored telemetry: means of its records, null where no record carried the field. */
export interface ReportSample {
  start: number;
  spanMs: number;
  /** Records in the interval. */
  records: number;
  /** Battery DC power, W, + = discharge. */
  batteryPowerW: number | null;
  /** The mean of the battery's power while discharging (0 otherwise) and while charging (as a positive number), W; null in records stored before the store split them. */
  batteryDischargeW: number | null;
  batteryChargeW: number | null;
  /** Grid power at the connection point, W, + = import. */
  gridPowerW: number | null;
  /** Grid + PCS AC power: what the grid would have carried without the battery, W. */
  netLoadW: number | null;
  sohPct: number | null;
  /** The battery's rated energy, Wh. */
  capacityWh: number | null;
  /** The envelope mode of the interval's records as indexes of MODES (0 NORMAL .. 3 ESTOP): lowest, mean, highest; null when none carried one. */
  mode: { min: number; mean: number; max: number } | null;
}

export interface SohPoint {
  ts: number;
  sohPct: number;
}

export interface AlarmRaised {
  code: string;
  severity: string;
  raisedAt: number;
}

/** A spot price step as the site's plans carried it. */
export interface SpotPrice {
  start: number;
  stepMs: number;
  eurPerMWh: number;
}

export interface MonthlyReportInput {
  siteId: string;
  siteName: string;
  month: ReportMonth;
  /** When the report is made: the current month ends here. */
  now: number;
  samples: readonly ReportSample[];
  /** Last month's samples (gridPowerW is enough): its import peak. */
  lastMonthSamples: readonly ReportSample[];
  /** The SoH estimates the site's records carried (the soh-estimate node), any order. */
  sohEstimates: readonly SohPoint[];
  alarms: readonly AlarmRaised[];
  prices: readonly SpotPrice[];
  tariff: SiteTariff;
  /** Where the tariff came from, shown in the report. */
  tariffSource: string;
  /** The site's telemetry interval, ms: how long one record counts. */
  recordMs: number;
}

export interface BillFigures {
  energyEur: number;
  demandEur: number;
  totalEur: number;
  importKwh: number;
  exportKwh: number;
}

export interface MonthlyReport {
  siteId: string;
  siteName: string;
  month: string;
  timeZone: 'UTC';
  period: { from: string; to: string; end: string; complete: boolean; hours: number };
  energy: { chargedKwh: number; dischargedKwh: number; basis: string };
  cycles: { equivalentFull: number | null; capacityKwh: number | null; basis: string };
  soh: { startPct: number | null; endPct: number | null; startAt: string | null; endAt: string | null; source: 'estimate' | 'bms' | null };
  availability: { share: number; onlineShare: number; onlineHours: number; controllableHours: number; definition: string };
  alarms: { total: number; byType: { code: string; severity: string; count: number }[] };
  bill: {
    withBattery: BillFigures;
    withoutBattery: BillFigures;
    savingEur: number;
    pricedHours: number;
    unpricedHours: number;
    tariff: SiteTariff;
    tariffSource: string;
  };
  peak: { importKw: number | null; lastMonthImportKw: number | null; changeKw: number | null; definition: string };
  generatedAt: string;
}

const WINDOW_MS = 900_000;
const HOUR_MS = 3_600_000;
const round = (v: number, digits: number): number => Number(v.toFixed(digits)) + 0; // + 0: no -0
const iso = (ms: number): string => new Date(ms).toISOString();
const SEVERITY_RANK: Record<string, number> = { info: 0, warning: 1, critical: 2 };
const CONTROLLABLE_MAX = MODES.indexOf('DERATED');

export const AVAILABILITY_DEFINITION =
  'share of the month (up to now for the current month) covered by telemetry records in envelope mode NORMAL or DERATED; ' +
  'each record counts for one telemetry interval, gaps count as unavailable, SAFE_MODE and ESTOP as not controllable';
export const PEAK_DEFINITION = 'highest mean grid import of a 15-minute window (UTC-aligned) over the time it was measured';

/** The share of a sample's records in a controllable mode (NORMAL, DERATED), from its lowest, mean and highest mode. */
export function controllableShare(mode: ReportSample['mode']): number {
  if (mode === null) return 0;
  if (mode.max <= CONTROLLABLE_MAX) return 1;
  if (mode.min > CONTROLLABLE_MAX) return 0;
  // Records at min and max only: mean = min + (max - min) x (share at max).
  return Math.min(1, Math.max(0, (mode.max - mode.mean) / (mode.max - mode.min)));
}

/** Covered ms of a sample inside [from, end): each record stands for one interval, silence is a gap. */
function covered(s: ReportSample, recordMs: number, from: number, end: number): number {
  if (s.start < from || s.start >= end || s.records <= 0) return 0;
  return Math.max(0, Math.min(s.spanMs, s.records * recordMs, end - s.start));
}

interface Window {
  gridMs: number;
  gridWms: number;
  billMs: number;
  billGridWms: number;
  billNetWms: number;
}

function windows(samples: readonly ReportSample[], recordMs: number, from: number, end: number): Map<number, Window> {
  const out = new Map<number, Window>();
  for (const s of samples) {
    const ms = covered(s, recordMs, from, end);
    if (ms <= 0 || s.gridPowerW === null) continue;
    const key = Math.floor(s.start / WINDOW_MS) * WINDOW_MS;
    const w = out.get(key) ?? { gridMs: 0, gridWms: 0, billMs: 0, billGridWms: 0, billNetWms: 0 };
    w.gridMs += ms;
    w.gridWms += s.gridPowerW * ms;
    if (s.netLoadW !== null) {
      w.billMs += ms;
      w.billGridWms += s.gridPowerW * ms;
      w.billNetWms += s.netLoadW * ms;
    }
    out.set(key, w);
  }
  return out;
}

/** The highest 15-minute mean import, kW, or null when no window imported or none was measured. */
export function importPeakKw(samples: readonly ReportSample[], recordMs: number, from: number, end: number): number | null {
  let peak: number | null = null;
  for (const w of windows(sortedSamples(samples), recordMs, from, end).values()) {
    const kw = w.gridWms / w.gridMs / 1000;
    if (w.gridMs > 0 && (peak === null || kw > peak)) peak = kw;
  }
  return peak === null ? null : Math.max(0, peak);
}

function sortedSamples(samples: readonly ReportSample[]): ReportSample[] {
  return [...samples].sort((a, b) => a.start - b.start || a.spanMs - b.spanMs);
}

function priceAt(prices: readonly SpotPrice[], ts: number): number | null {
  // Prices are few (a month of 15-minute steps is ~3000): a binary search keeps a month cheap.
  let lo = 0;
  let hi = prices.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const p = prices[mid] as SpotPrice;
    if (ts < p.start) hi = mid - 1;
    else if (ts >= p.start + p.stepMs) lo = mid + 1;
    else return p.eurPerMWh;
  }
  return null;
}

function billFigures(b: Bill): BillFigures {
  return { energyEur: round(b.energyEur, 2), demandEur: round(b.demandEur, 2), totalEur: round(b.totalEur, 2), importKwh: round(b.importKwh, 3), exportKwh: round(b.exportKwh, 3) };
}

export function buildMonthlyReport(input: MonthlyReportInput): MonthlyReport {
  const { from, to } = monthBounds(input.month);
  const end = Math.max(from, Math.min(to, input.now));
  const periodMs = end - from;
  const samples = sortedSamples(input.samples);

  let chargedWh = 0, dischargedWh = 0, onlineMs = 0, controllableMs = 0;
  let capacityWh: number | null = null;
  let bmsSohFirst: SohPoint | null = null, bmsSohLast: SohPoint | null = null;
  for (const s of samples) {
    const ms = covered(s, input.recordMs, from, end);
    if (ms <= 0) continue;
    onlineMs += ms;
    controllableMs += ms * controllableShare(s.mode);
    if (s.batteryDischargeW !== null && s.batteryChargeW !== null) {
      dischargedWh += (s.batteryDischargeW * ms) / HOUR_MS;
      chargedWh += (s.batteryChargeW * ms) / HOUR_MS;
    } else if (s.batteryPowerW !== null) {
      const wh = (s.batteryPowerW * ms) / HOUR_MS;
      if (wh >= 0) dischargedWh += wh;
      else chargedWh -= wh;
    }
    if (s.capacityWh !== null && s.capacityWh > 0) capacityWh = s.capacityWh;
    if (s.sohPct !== null) {
      bmsSohFirst ??= { ts: s.start, sohPct: s.sohPct };
      bmsSohLast = { ts: s.start, sohPct: s.sohPct };
    }
  }

  const estimates = input.sohEstimates.filter((e) => e.ts >= from && e.ts < end).sort((a, b) => a.ts - b.ts || a.sohPct - b.sohPct);
  const sohSource = estimates.length ? 'estimate' : bmsSohFirst ? 'bms' : null;
  const sohStart = estimates[0] ?? bmsSohFirst;
  const sohEnd = estimates[estimates.length - 1] ?? bmsSohLast;

  const byType = new Map<string, { code: string; severity: string; count: number }>();
  let alarmTotal = 0;
  for (const a of input.alarms) {
    if (a.raisedAt < from || a.raisedAt >= end) continue;
    alarmTotal++;
    const t = byType.get(a.code) ?? { code: a.code, severity: a.severity, count: 0 };
    t.count++;
    if ((SEVERITY_RANK[a.severity] ?? -1) > (SEVERITY_RANK[t.severity] ?? -1)) t.severity = a.severity;
    byType.set(a.code, t);
  }

  const prices = [...input.prices].sort((a, b) => a.start - b.start);
  const withSteps: BillStep[] = [];
  const withoutSteps: BillStep[] = [];
  let pricedMs = 0, unpricedMs = 0;
  for (const [start, w] of windows(samples, input.recordMs, from, end)) {
    if (w.billMs <= 0) continue;
    const spot = priceAt(prices, start);
    if (spot === null) { unpricedMs += w.billMs; continue; }
    pricedMs += w.billMs;
    const hours = w.billMs / HOUR_MS;
    withSteps.push({ start, hours, gridKw: w.billGridWms / w.billMs / 1000, spotEurPerMWh: spot });
    withoutSteps.push({ start, hours, gridKw: w.billNetWms / w.billMs / 1000, spotEurPerMWh: spot });
  }
  const withBattery = billFigures(siteBill(withSteps, input.tariff));
  const withoutBattery = billFigures(siteBill(withoutSteps, input.tariff));

  const last = monthBounds(previousMonth(input.month));
  const peak = importPeakKw(samples, input.recordMs, from, end);
  const lastPeak = importPeakKw(input.lastMonthSamples, input.recordMs, last.from, last.to);
  const throughputWh = chargedWh + dischargedWh;

  return {
    siteId: input.siteId,
    siteName: input.siteName,
    month: monthText(input.month),
    timeZone: 'UTC',
    period: { from: iso(from), to: iso(to), end: iso(end), complete: end >= to, hours: round(periodMs / HOUR_MS, 3) },
    energy: { chargedKwh: round(chargedWh / 1000, 3), dischargedKwh: round(dischargedWh / 1000, 3), basis: 'battery DC power x time covered by records' },
    cycles: {
      equivalentFull: capacityWh === null ? null : round(throughputWh / 2 / capacityWh, 4),
      capacityKwh: capacityWh === null ? null : round(capacityWh / 1000, 3),
      basis: '(charged + discharged) / 2 / rated energy (BMS WHRtg)',
    },
    soh: {
      startPct: sohStart ? round(sohStart.sohPct, 2) : null,
      endPct: sohEnd ? round(sohEnd.sohPct, 2) : null,
      startAt: sohStart ? iso(sohStart.ts) : null,
      endAt: sohEnd ? iso(sohEnd.ts) : null,
      source: sohSource,
    },
    availability: {
      share: periodMs > 0 ? round(Math.min(1, controllableMs / periodMs), 4) : 0,
      onlineShare: periodMs > 0 ? round(Math.min(1, onlineMs / periodMs), 4) : 0,
      onlineHours: round(onlineMs / HOUR_MS, 3),
      controllableHours: round(controllableMs / HOUR_MS, 3),
      definition: AVAILABILITY_DEFINITION,
    },
    alarms: { total: alarmTotal, byType: [...byType.values()].sort((a, b) => b.count - a.count || a.code.localeCompare(b.code)) },
    bill: {
      withBattery,
      withoutBattery,
      savingEur: round(withoutBattery.totalEur - withBattery.totalEur, 2),
      pricedHours: round(pricedMs / HOUR_MS, 3),
      unpricedHours: round(unpricedMs / HOUR_MS, 3),
      tariff: input.tariff,
      tariffSource: input.tariffSource,
    },
    peak: {
      importKw: peak === null ? null : round(peak, 3),
      lastMonthImportKw: lastPeak === null ? null : round(lastPeak, 3),
      changeKw: peak === null || lastPeak === null ? null : round(peak - lastPeak, 3),
      definition: PEAK_DEFINITION,
    },
    generatedAt: iso(input.now),
  };
}
