// Reads a 15-minute load series for training and benchmarks from the two formats of data/:
// Modelica table text (`seconds<TAB>value`, origin from the file name's ddmmyyyy or given) and
// `time,pv,load` CSV. Both are read on their local calendar as if UTC (the files have no DST jumps).
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { LoadSeries } from '../../domain/forecast/features';
import { DAY_MS, STEP_MS } from '../../domain/forecast/features';
import { parseHouseholdCsv, parseModelicaTable } from '../../io/data/real-data';

export interface LoadedSeries extends LoadSeries {
  unit: string;
  file: string;
}

function originFromName(file: string): number | undefined {
  const m = /_(\d{2})(\d{2})(\d{4})_/.exec(basename(file)) ?? /_(\d{4})\./.exec(basename(file));
  if (!m) return undefined;
  if (m.length === 4) return Date.UTC(Number(m[3]), Number(m[2]) - 1, Number(m[1]));
  return Date.UTC(Number(m[1]), 0, 1);
}

/** Trims to whole days from the first 00:00 and checks the 15-minute spacing. */
function toSeries(times: ArrayLike<number>, values: ArrayLike<number>, unit: string, file: string): LoadedSeries {
  if (times.length < 2) throw new Error(`${file}: too few rows`);
  for (let i = 1; i < times.length; i++) {
    if (times[i]! - times[i - 1]! !== STEP_MS) throw new Error(`${file}: row ${i} is not 15 minutes after the previous one`);
  }
  let first = 0;
  while (first < times.length && times[first]! % DAY_MS !== 0) first++;
  const whole = Math.floor((times.length - first) / 96) * 96;
  const out = new Float64Array(whole);
  for (let i = 0; i < whole; i++) out[i] = values[first + i]!;
  return { startMs: times[first]!, values: out, unit, file };
}

/**
 * Which quantity of a `time,pv,load` CSV to forecast: `load` (the household's consumption) or
 * `net` (load - PV, what an edge measures as grid import + battery discharge: its meter sees the
 * PV, and the arbitrage LP and peak shaving plan against exactly that net load).
 */
export type SeriesKind = 'load' | 'net';

export function readLoadSeries(file: string, originMs?: number, kind: SeriesKind = 'load'): LoadedSeries {
  const text = readFileSync(file, 'utf8');
  if (text.startsWith('#1')) {
    if (kind === 'net') throw new Error(`${file}: a Modelica table holds one series, no PV to net out; use --series load`);
    const origin = originMs ?? originFromName(file);
    if (origin === undefined) throw new Error(`${file}: cannot tell the table's origin from its name; give it`);
    const t = parseModelicaTable(text, origin, basename(file));
    const times = Array.from(t.seconds, (s) => origin + s * 1000);
    return toSeries(times, t.values, 'W', file);
  }
  const h = parseHouseholdCsv(text, basename(file));
  return toSeries(h.time, kind === 'net' ? h.loadKw.map((l, i) => l - h.pvKw[i]!) : h.loadKw, 'kW', file);
}

/** The part of a series before (`before`) or from (`from`) a day start. */
export function splitSeries(series: LoadedSeries, atMs: number): { before: LoadedSeries; from: LoadedSeries } {
  const idx = Math.max(0, Math.min(series.values.length, Math.round((atMs - series.startMs) / STEP_MS)));
  return {
    before: { ...series, values: series.values.slice(0, idx) },
    from: { ...series, startMs: series.startMs + idx * STEP_MS, values: series.values.slice(idx) },
  };
}
