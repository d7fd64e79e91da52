// The numeric fields a TelemetryRecord is flattened into: the one list both back ends store (SQLite
// columns, InfluxDB fields) and the API queries by name. Units and signs follow docs/ARCHITECTURE.md, "Conventions": power W,
// + = battery discharging; grid power + = import; SoC %; temperature degC; voltage V; current A.
// A field is absent (null) when the record does not carry the part it comes from.
import { MODES, type TelemetryRecord } from '../../domain/contracts';

export interface FieldDef {
  readonly name: string;
  readonly unit: string;
  readonly description: string;
  readonly of: (r: TelemetryRecord) => number | null | undefined;
}

const battery = (r: TelemetryRecord) => r.telemetry?.battery;
const pcs = (r: TelemetryRecord) => r.telemetry?.pcs;
const meter = (r: TelemetryRecord) => r.telemetry?.meter;

const signedPart = (power: number | undefined, sign: 1 | -1): number | null => (power === undefined ? null : Math.max(0, sign * power));

/** Every field, in storage order. Add new ones at the end: SQLite adds the column on open. */
export const TELEMETRY_FIELDS: readonly FieldDef[] = [
  { name: 'socPct', unit: '%', description: 'battery state of charge', of: (r) => battery(r)?.soc },
  { name: 'sohPct', unit: '%', description: 'battery state of health', of: (r) => battery(r)?.soh },
  { name: 'batteryVoltageV', unit: 'V', description: 'battery (DC) voltage', of: (r) => battery(r)?.voltage },
  { name: 'batteryCurrentA', unit: 'A', description: 'battery current, + = discharge', of: (r) => battery(r)?.current },
  { name: 'batteryPowerW', unit: 'W', description: 'battery (DC) power, + = discharge', of: (r) => battery(r)?.power },
  { name: 'energyAvailableWh', unit: 'Wh', description: 'energy the BMS says is available', of: (r) => battery(r)?.energyAvailableWh },
  { name: 'cellMaxV', unit: 'V', description: 'highest cell voltage', of: (r) => battery(r)?.cellVmax },
  { name: 'cellMinV', unit: 'V', description: 'lowest cell voltage', of: (r) => battery(r)?.cellVmin },
  {
    name: 'cellSpreadV', unit: 'V', description: 'highest minus lowest cell voltage (imbalance)',
    of: (r) => { const b = battery(r); return b ? b.cellVmax - b.cellVmin : null; },
  },
  { name: 'tempMaxC', unit: 'degC', description: 'highest battery temperature', of: (r) => battery(r)?.tempMax },
  { name: 'tempMinC', unit: 'degC', description: 'lowest battery temperature', of: (r) => battery(r)?.tempMin },
  { name: 'cycles', unit: '1', description: 'battery cycle count', of: (r) => battery(r)?.cycles },
  { name: 'pcsPowerW', unit: 'W', description: 'PCS AC active power, + = discharge', of: (r) => pcs(r)?.power },
  { name: 'pcsReactivePowerVar', unit: 'var', description: 'PCS reactive power', of: (r) => pcs(r)?.reactivePower },
  { name: 'pcsSetpointW', unit: 'W', description: 'the setpoint the PCS holds', of: (r) => pcs(r)?.setpoint },
  { name: 'gridPowerW', unit: 'W', description: 'grid power at the connection point, + = import', of: (r) => meter(r)?.power },
  {
    name: 'gridFrequencyHz', unit: 'Hz', description: 'grid frequency (meter, else PCS)',
    of: (r) => meter(r)?.frequency ?? pcs(r)?.frequency,
  },
  { name: 'gridImportWh', unit: 'Wh', description: 'meter import energy counter', of: (r) => meter(r)?.energyImportWh },
  { name: 'gridExportWh', unit: 'Wh', description: 'meter export energy counter', of: (r) => meter(r)?.energyExportWh },
  {
    // Telemetry carries no PV meter: grid + battery AC power is the site's consumption net of PV.
    name: 'netLoadW', unit: 'W', description: 'site consumption net of PV (grid + PCS power)',
    of: (r) => { const m = meter(r); const p = pcs(r); return m && p ? m.power + p.power : null; },
  },
  { name: 'setpointW', unit: 'W', description: 'the arbiter decision, + = discharge', of: (r) => r.decision?.setpointW },
  { name: 'requestedW', unit: 'W', description: 'what the winning request asked for', of: (r) => r.decision?.requestedW },
  { name: 'decisionLevel', unit: '1', description: 'winning arbiter level (1 SAFETY .. 5 ECONOMIC)', of: (r) => r.decision?.level },
  { name: 'envelopeMaxChargeW', unit: 'W', description: 'safety envelope charge limit', of: (r) => r.envelope?.maxChargeW },
  { name: 'envelopeMaxDischargeW', unit: 'W', description: 'safety envelope discharge limit', of: (r) => r.envelope?.maxDischargeW },
  {
    // MODES is ordered by severity (NORMAL 0, DERATED 1, SAFE_MODE 2, ESTOP 3): max per interval = worst mode.
    name: 'modeCode', unit: '1', description: 'envelope mode: 0 NORMAL, 1 DERATED, 2 SAFE_MODE, 3 ESTOP',
    of: (r) => { const m = r.envelope?.mode ?? r.decision?.mode; return m === undefined ? null : MODES.indexOf(m); },
  },
  {
    name: 'deviceAlarmCount', unit: '1', description: 'active device alarm symbols (BMS, PCS, meter)',
    of: (r) => r.telemetry ? (battery(r)?.alarms.length ?? 0) + (pcs(r)?.alarms.length ?? 0) + (meter(r)?.alarms.length ?? 0) : null,
  },
  // The cloud rebuilds battery samples from these for its SoH and anomaly models (runtime/ml/store-battery.ts):
  // the mean cell voltage the BMS reports (the pack voltage also holds busbar and contactor drops) and
  // the rated energy the SoH is a fraction of.
  { name: 'cellAvgV', unit: 'V', description: 'mean cell voltage (BMS)', of: (r) => battery(r)?.cellVavg },
  { name: 'capacityWh', unit: 'Wh', description: 'battery rated energy (SunSpec 802 WHRtg)', of: (r) => battery(r)?.capacityWh },
  // How the edge keeps up (EdgeHealthSchema): its backlog and its control loop, as of the record.
  { name: 'edgeBufferDepth', unit: '1', description: 'records buffered at the edge, not yet acknowledged by the cloud', of: (r) => r.edge?.bufferDepth },
  { name: 'edgeOldestUnsentS', unit: 's', description: 'age of the oldest unacknowledged record at the edge', of: (r) => r.edge?.oldestUnsentS },
  { name: 'controlCycleMs', unit: 'ms', description: 'the edge control cycle: battery poll start to PCS setpoint written', of: (r) => r.edge?.cycleMs },
  // The battery's power split by direction: an interval's means then give the energy charged and
  // discharged even when the power changed sign inside it (the monthly report, domain/reports/monthly.ts).
  { name: 'batteryDischargeW', unit: 'W', description: 'battery (DC) power while discharging, else 0', of: (r) => signedPart(battery(r)?.power, 1) },
  { name: 'batteryChargeW', unit: 'W', description: 'battery (DC) power while charging, as a positive number, else 0', of: (r) => signedPart(battery(r)?.power, -1) },
];

export const FIELD_NAMES: readonly string[] = TELEMETRY_FIELDS.map((f) => f.name);
const FIELD_SET = new Set(FIELD_NAMES);

export function isFieldName(name: string): boolean {
  return FIELD_SET.has(name);
}

/** The record's fields that are present and finite, by name. */
export function flattenRecord(r: TelemetryRecord): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of TELEMETRY_FIELDS) {
    const v = f.of(r);
    if (typeof v === 'number' && Number.isFinite(v)) out[f.name] = v;
  }
  return out;
}
