// Price series in every shape a feed delivers them, normalised to what the optimizer takes: EUR/MWh
// on a regular 15 or 60 minute grid (contracts.ts PriceSeries). Pure: text and values in, no I/O.
import { z } from 'zod';
import { describeIssues, PriceSeriesSchema, type PriceSeries } from '../contracts';

export class PriceError extends Error {
  override name = 'PriceError';
}

export interface PricePoint {
  /** Start of the interval, ms since the epoch. */
  time: number;
  price: number;
}

export const PRICE_UNITS = ['EUR/MWh', 'EUR/kWh', 'ct/kWh'] as const;
export type PriceUnit = (typeof PRICE_UNITS)[number];

/** Factor from a unit to EUR/MWh. */
export function toEurPerMWh(unit: PriceUnit): number {
  switch (unit) {
    case 'EUR/MWh': return 1;
    case 'EUR/kWh': return 1000;
    case 'ct/kWh': return 10;
  }
}

/** A time as written in a feed: ms or s since the epoch, or ISO 8601 (no zone = UTC). */
export function parseTime(v: unknown, where: string): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v < 1e11 ? v * 1000 : v;
  if (typeof v === 'string' && v.trim()) {
    const s = v.trim();
    if (/^\d+(\.\d+)?$/.test(s)) return parseTime(Number(s), where);
    const iso = s.replace(' ', 'T');
    const t = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(iso) ? iso : `${iso}Z`);
    if (Number.isFinite(t)) return t;
  }
  throw new PriceError(`${where}: bad time "${String(v)}"`);
}

function num(v: unknown, where: string): number {
  const x = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof x !== 'number' || !Number.isFinite(x)) throw new PriceError(`${where}: "${String(v)}" is not a number`);
  return x;
}

/** CSV text with a header naming a time column (time|start|timestamp) and a price column (price|value). */
export function parsePriceCsv(text: string, name = 'price csv'): PricePoint[] {
  const rows = text.split(/\r?\n/).filter((l) => l.trim());
  const sep = (rows[0] ?? '').includes(';') ? ';' : ',';
  const header = (rows.shift() ?? '').split(sep).map((h) => h.trim().toLowerCase().replace(/^"|"$/g, ''));
  const iTime = header.findIndex((h) => ['time', 'start', 'timestamp', 'datetime'].includes(h));
  const iPrice = header.findIndex((h) => h === 'price' || h.startsWith('price') || h === 'value');
  if (iTime < 0 || iPrice < 0) throw new PriceError(`${name}: expected a header with time and price columns, got "${header.join(sep)}"`);
  if (rows.length === 0) throw new PriceError(`${name}: no rows`);
  return rows.map((row, i) => {
    const cols = row.split(sep).map((c) => c.trim().replace(/^"|"$/g, ''));
    return { time: parseTime(cols[iTime], `${name} line ${i + 2}`), price: num(cols[iPrice], `${name} line ${i + 2}`) };
  });
}

/** Modelica table text (data/SOURCES.md): `#1`, `double name(N,2) ...`, then `seconds<TAB>value`. */
export function parseModelicaPrices(text: string, originMs: number, name = 'price table'): PricePoint[] {
  const rows = text.split(/\r?\n/).filter((l) => l.trim());
  if (!rows[0]?.startsWith('#1') || !/^double/.test(rows[1] ?? '')) throw new PriceError(`${name}: not a Modelica table ("#1", "double ..." header)`);
  return rows.slice(2).map((row, i) => {
    const [s, v] = row.trim().split(/\s+/);
    return { time: originMs + num(s, `${name} line ${i + 3}`) * 1000, price: num(v, `${name} line ${i + 3}`) };
  });
}

/** Either text format, recognised by its first line. */
export function parsePriceText(text: string, originMs: number, name = 'prices'): PricePoint[] {
  return text.trimStart().startsWith('#1') ? parseModelicaPrices(text, originMs, name) : parsePriceCsv(text, name);
}

const PointSchema = z.object({
  time: z.union([z.number(), z.string()]).optional(),
  start: z.union([z.number(), z.string()]).optional(),
  price: z.union([z.number(), z.string()]).optional(),
  value: z.union([z.number(), z.string()]).optional(),
}).refine((p) => (p.time ?? p.start) !== undefined && (p.price ?? p.value) !== undefined, { message: 'each entry needs time|start and price|value' });

/**
 * JSON as HTTP feeds and messages bring it: a PriceSeries, an array of {time|start, price|value},
 * or an object holding such an array under `prices` or `data`.
 */
export function parsePriceJson(value: unknown, name = 'price json'): PriceSeries | PricePoint[] {
  const series = PriceSeriesSchema.safeParse(value);
  if (series.success) return series.data;
  let list: unknown = value;
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const o = value as Record<string, unknown>;
    list = o.prices ?? o.data;
  }
  const points = z.array(PointSchema).min(1).safeParse(list);
  if (!points.success) {
    throw new PriceError(`${name}: expected a PriceSeries, an array of {time|start, price} or {prices: [...]}: ${describeIssues(points.error)}`);
  }
  return points.data.map((p, i) => ({ time: parseTime(p.time ?? p.start, `${name}[${i}]`), price: num(p.price ?? p.value, `${name}[${i}]`) }));
}

/** Longest run of missing steps filled by holding the previous price. */
const MAX_GAP_STEPS = 6;

/**
 * Points on a regular grid of `stepMinutes`: finer points are averaged into each step, coarser ones
 * held over the steps they cover, short gaps hold the previous price. Prices are multiplied by
 * `factor` (toEurPerMWh). Throws on duplicates, long gaps or too many steps.
 */
export function toPriceSeries(points: readonly PricePoint[], stepMinutes: 15 | 60, factor = 1, source?: string): PriceSeries {
  if (points.length === 0) throw new PriceError('no prices');
  const sorted = [...points].sort((a, b) => a.time - b.time);
  for (let i = 1; i < sorted.length; i++) {
    if ((sorted[i] as PricePoint).time === (sorted[i - 1] as PricePoint).time) throw new PriceError(`two prices for ${new Date((sorted[i] as PricePoint).time).toISOString()}`);
  }
  const step = stepMinutes * 60_000;
  const first = sorted[0] as PricePoint;
  const last = sorted[sorted.length - 1] as PricePoint;
  // The native interval of the points: the smallest spacing (the last point covers one of them).
  let native = Infinity;
  for (let i = 1; i < sorted.length; i++) native = Math.min(native, (sorted[i] as PricePoint).time - (sorted[i - 1] as PricePoint).time);
  if (!Number.isFinite(native)) native = step;
  const start = Math.floor(first.time / step) * step;
  const end = last.time + native;
  const n = Math.ceil((end - start) / step);
  if (n > 24 * 4 * 14) throw new PriceError(`${n} steps: a price series may hold at most 14 days at 15 min (pick a shorter window)`);
  const prices: number[] = [];
  let j = 0;
  let held: number | null = null;
  let gap = 0;
  for (let s = 0; s < n; s++) {
    const a = start + s * step;
    const b = a + step;
    // Time-weighted mean of the points overlapping [a, b).
    let weight = 0;
    let total = 0;
    while (j < sorted.length && (sorted[j] as PricePoint).time + native <= a) j++;
    for (let i = j; i < sorted.length && (sorted[i] as PricePoint).time < b; i++) {
      const p = sorted[i] as PricePoint;
      // Each point holds for the feed's own interval.
      const w = Math.min(b, p.time + native) - Math.max(a, p.time);
      if (w > 0) { weight += w; total += w * p.price; }
    }
    if (weight > 0) { held = total / weight; gap = 0; }
    else if (held !== null && ++gap <= MAX_GAP_STEPS) { /* hold */ }
    else throw new PriceError(`no price for ${new Date(a).toISOString()} (gap longer than ${MAX_GAP_STEPS} steps)`);
    prices.push((held as number) * factor);
  }
  const series = { start, stepMinutes, pricesEurPerMWh: prices, ...(source ? { source: source.slice(0, 256) } : {}) };
  const ok = PriceSeriesSchema.safeParse(series);
  if (!ok.success) throw new PriceError(`price series: ${describeIssues(ok.error)}`);
  return ok.data;
}

/** The part of the points inside [fromMs, fromMs + hours). */
export function windowOf(points: readonly PricePoint[], fromMs: number, hours: number): PricePoint[] {
  const to = fromMs + hours * 3_600_000;
  return points.filter((p) => p.time >= fromMs && p.time < to);
}

/** The series moved by whole days so it starts on the UTC day of `nowMs` (replaying a past day). */
const DAY_MS = 86_400_000;

/**
 * Where to start replaying a past year's prices today: 00:00 UTC of today's calendar day in the
 * year of the data, which spans [firstMs, endMs) (27 November 2026 takes 27 November 2012; 29
 * February falls back to the 28th). When the data does not reach that day with `hours` to spare
 * (the 2012 prices end in September), the day wraps around the whole days the data covers, as the
 * simulator's load and PV profiles do.
 */
export function replayStart(firstMs: number, endMs: number, nowMs: number, hours: number): number {
  const now = new Date(nowMs);
  const year = new Date(firstMs).getUTCFullYear();
  let day = Date.UTC(year, now.getUTCMonth(), now.getUTCDate());
  if (new Date(day).getUTCMonth() !== now.getUTCMonth()) day -= DAY_MS;
  const firstDay = Math.ceil(firstMs / DAY_MS) * DAY_MS;
  if (day >= firstDay && day + hours * 3_600_000 <= endMs) return day;
  const days = Math.floor((endMs - firstDay - hours * 3_600_000) / DAY_MS) + 1;
  if (days < 1) return firstDay;
  const index = Math.round((day - Date.UTC(year, 0, 1)) / DAY_MS);
  return firstDay + (((index % days) + days) % days) * DAY_MS;
}

export function alignToDay(series: PriceSeries, nowMs: number): PriceSeries {
  const day = 86_400_000;
  const shift = Math.floor(nowMs / day) * day - Math.floor(series.start / day) * day;
  return { ...series, start: series.start + shift };
}
