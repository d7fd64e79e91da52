// The one place that finds the package's data/ folder and parses its files (data/SOURCES.md
// gives origins, units and licences). Everything returns typed arrays; callers never touch fs.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAgeingCsv, type AgeingPoint } from '../../domain/lfp/ageing-data';
import type { OcvPoint } from '../../domain/lfp/ocv-curve';
import { packageRoot } from '../package-root';

export class RealDataError extends Error {
  override name = 'RealDataError';
}

export function dataPath(file: string): string {
  return join(packageRoot, 'data', file);
}

export const DATA_FILES = {
  ocv: 'LithiumWerks-APR18650M1B_ocv.csv',
  household: 'household_profile.csv',
  berlinDemand: 'Electricity_Demand_BER_900s_01012012_31122012_.txt',
  germanPv: 'Solar2012_Gesamt_900s.txt',
  prices: 'ElectricityPricesSpotMarket_3600s_2012.txt',
  ageing: 'severson2019_b2c30_health_fig04.csv',
} as const;

function readText(file: string): string {
  const path = dataPath(file);
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new RealDataError(`cannot read ${path}: ${(err as Error).message}`);
  }
}

function lines(text: string): string[] {
  return text.split(/\r?\n/).filter((l) => l.trim().length > 0);
}

function num(s: string | undefined, where: string): number {
  const v = Number(s);
  if (s === undefined || s.trim() === '' || !Number.isFinite(v)) throw new RealDataError(`${where}: "${s ?? ''}" is not a number`);
  return v;
}

// ---------------------------------------------------------------- OCV curve

/** Parse `soc,ocv_V` CSV text (header line first). */
export function parseOcvCsv(text: string, name = 'ocv csv'): OcvPoint[] {
  const rows = lines(text);
  const header = rows.shift() ?? '';
  if (!/^soc\s*,\s*ocv/i.test(header)) throw new RealDataError(`${name}: expected header "soc,ocv_V", got "${header}"`);
  return rows.map((row, i) => {
    const [soc, ocv] = row.split(',');
    return { soc: num(soc, `${name} line ${i + 2}`), ocv: num(ocv, `${name} line ${i + 2}`) };
  });
}

/** The measured LFP open-circuit-voltage curve (LithiumWerks APR18650M1B, C/32), soc 0..1 and V. */
export function loadOcvPoints(): OcvPoint[] {
  return parseOcvCsv(readText(DATA_FILES.ocv), DATA_FILES.ocv);
}

// ---------------------------------------------------------------- household profile

export interface HouseholdProfile {
  /** ms since the epoch for each row; the file's local times are read as UTC (no DST jumps in it). */
  time: Float64Array;
  pvKw: Float64Array;
  loadKw: Float64Array;
  /** Sampling interval, ms (15 min). */
  stepMs: number;
}

export function parseHouseholdCsv(text: string, name = 'household csv'): HouseholdProfile {
  const rows = lines(text);
  const header = (rows.shift() ?? '').split(',').map((h) => h.trim());
  const iTime = header.indexOf('time');
  const iPv = header.indexOf('pv');
  const iLoad = header.indexOf('load');
  if (iTime < 0 || iPv < 0 || iLoad < 0) throw new RealDataError(`${name}: expected columns time,pv,load, got ${header.join(',')}`);
  const time = new Float64Array(rows.length);
  const pvKw = new Float64Array(rows.length);
  const loadKw = new Float64Array(rows.length);
  rows.forEach((row, i) => {
    const cols = row.split(',');
    const where = `${name} line ${i + 2}`;
    const t = Date.parse(`${(cols[iTime] ?? '').trim().replace(' ', 'T')}Z`);
    if (!Number.isFinite(t)) throw new RealDataError(`${where}: bad time "${cols[iTime] ?? ''}"`);
    time[i] = t;
    pvKw[i] = num(cols[iPv], where);
    loadKw[i] = num(cols[iLoad], where);
  });
  const stepMs = rows.length > 1 ? (time[1] ?? 0) - (time[0] ?? 0) : 900_000;
  return { time, pvKw, loadKw, stepMs };
}

/** One household's load and rooftop PV, 2014-01-01 .. 2014-09-30, kW at 15 min. */
export function loadHouseholdProfile(): HouseholdProfile {
  return parseHouseholdCsv(readText(DATA_FILES.household), DATA_FILES.household);
}

// ---------------------------------------------------------------- Modelica tables

export interface TimeTable {
  /** Seconds since the table's origin (2012-01-01 00:00 for the 2012 files). */
  seconds: Float64Array;
  values: Float64Array;
  /** The table's origin as ms since the epoch (the files' local time read as UTC). */
  originMs: number;
}

/** Modelica table text: two header lines (`#1`, `double name(N,2) ...`), then `seconds<TAB>value`. */
export function parseModelicaTable(text: string, originMs: number, name = 'table'): TimeTable {
  const rows = lines(text);
  if (!rows[0]?.startsWith('#1')) throw new RealDataError(`${name}: expected "#1" on the first line`);
  if (!/^double/.test(rows[1] ?? '')) throw new RealDataError(`${name}: expected "double ..." on the second line`);
  const body = rows.slice(2);
  const seconds = new Float64Array(body.length);
  const values = new Float64Array(body.length);
  body.forEach((row, i) => {
    const [s, v] = row.trim().split(/\s+/);
    const where = `${name} line ${i + 3}`;
    seconds[i] = num(s, where);
    values[i] = num(v, where);
  });
  return { seconds, values, originMs };
}

const ORIGIN_2012 = Date.UTC(2012, 0, 1);

/** Berlin grid demand 2012 (Jan-Sep), W at 15 min. */
export function loadBerlinDemand(): TimeTable {
  return parseModelicaTable(readText(DATA_FILES.berlinDemand), ORIGIN_2012, DATA_FILES.berlinDemand);
}

/** German PV feed-in 2012 (Jan-Sep) per unit of installed capacity, 15 min. */
export function loadGermanPvPerUnit(): TimeTable {
  return parseModelicaTable(readText(DATA_FILES.germanPv), ORIGIN_2012, DATA_FILES.germanPv);
}

/** EPEX day-ahead price 2012 (Jan-Sep), EUR/MWh hourly. */
export function loadDayAheadPrices(): TimeTable {
  return parseModelicaTable(readText(DATA_FILES.prices), ORIGIN_2012, DATA_FILES.prices);
}

/** The LFP ageing curve of data/ (capacity against equivalent full cycles), or of `file`. */
export function readAgeingData(file?: string): AgeingPoint[] {
  if (file === undefined) return parseAgeingCsv(readText(DATA_FILES.ageing));
  try {
    return parseAgeingCsv(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new RealDataError(`cannot read ${file}: ${(err as Error).message}`);
  }
}
