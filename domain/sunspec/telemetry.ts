// From decoded SunSpec models to the Telemetry contract. A battery is models 802 (+ 805 modules
// for per-cell voltages and temperatures, + 713); a PCS is 701 (+ 702 ratings, + 704 controls);
// a meter is one of 201-204. Signs: 802 A and W and 701 W are positive when the battery
// discharges / the DER injects (701: "positive for DER generation"); meter W positive = import.
// An optional point or model the device lacks is null (the safety envelope treats it so); a
// point the control loop cannot do without (a battery's SoC, V, A and cell voltage extremes, a
// PCS's or meter's W) is a configuration error that names it.
import type { BatteryTelemetry, DeviceKind, MeterTelemetry, PcsTelemetry } from '../contracts';
import type { DecodedGroup, DecodedModel } from './codec';
import { sunspecModel, type PointDef } from './model';

export const METER_MODEL_IDS = [201, 202, 203, 204] as const;

export class TelemetryMappingError extends Error {
  override name = 'TelemetryMappingError';
}

type ModelSet = ReadonlyMap<number, readonly DecodedModel[]>;

export function groupModels(models: readonly DecodedModel[]): Map<number, DecodedModel[]> {
  const byId = new Map<number, DecodedModel[]>();
  for (const m of models) byId.set(m.id, [...(byId.get(m.id) ?? []), m]);
  return byId;
}

function first(set: ModelSet, id: number): DecodedGroup | undefined {
  return set.get(id)?.[0]?.root;
}

function num(group: DecodedGroup | undefined, point: string): number | null {
  const v = group?.points[point];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function need(value: number | null, what: string, meaning: string): number {
  if (value === null) {
    throw new TelemetryMappingError(`configuration error: the device does not implement ${what} (${meaning}), which the control loop needs; is this the right device and unit id?`);
  }
  return value;
}

function pointOf(modelId: number, point: string): PointDef | undefined {
  return sunspecModel(modelId)?.group.points.find((p) => p.name === point);
}

/** The symbol name of an enum point's value, or the number as text when the model has no symbol. */
export function enumSymbol(modelId: number, point: string, value: number | null): string {
  if (value === null) return 'UNKNOWN';
  return pointOf(modelId, point)?.symbols?.find((s) => s.value === value)?.name ?? String(value);
}

/** The symbol names of the bits set in a bitfield point. */
export function bitfieldSymbols(modelId: number, point: string, value: number | null): string[] {
  if (value === null || value === 0) return [];
  const symbols = pointOf(modelId, point)?.symbols ?? [];
  const out: string[] = [];
  for (let bit = 0; bit < 32; bit++) {
    if (Math.floor(value / 2 ** bit) % 2 === 1) out.push(symbols.find((s) => s.value === bit)?.name ?? `BIT${bit}`);
  }
  return out;
}

function minOf(xs: number[]): number | null {
  return xs.length ? Math.min(...xs) : null;
}
function maxOf(xs: number[]): number | null {
  return xs.length ? Math.max(...xs) : null;
}

export function batteryTelemetry(set: ModelSet, ts: number): BatteryTelemetry {
  const bat = first(set, 802);
  if (!bat) throw new TelemetryMappingError('a battery needs SunSpec model 802');
  const storage = first(set, 713);
  const cells = (set.get(805) ?? []).flatMap((m) => m.root.groups['lithium-ion-module-cell'] ?? []);
  const cellVoltages = cells.map((c) => num(c, 'CellV')).filter((v): v is number => v !== null);
  const cellTemps = cells.map((c) => num(c, 'CellTmp')).filter((v): v is number => v !== null);
  const modules = (set.get(805) ?? []).map((m) => m.root);
  const voltage = need(num(bat, 'V'), '802.V', 'battery voltage');
  const current = need(num(bat, 'A'), '802.A', 'battery current');
  const nCyc = num(bat, 'NCyc');
  return {
    ts,
    soc: Math.min(100, Math.max(0, need(num(bat, 'SoC') ?? num(storage, 'SoC'), '802.SoC', 'state of charge'))),
    soh: num(bat, 'SoH') ?? num(storage, 'SoH'),
    voltage,
    current,
    power: num(bat, 'W') ?? voltage * current,
    capacityWh: num(bat, 'WHRtg') ?? num(storage, 'WHRtg'),
    energyAvailableWh: num(storage, 'WHAvail'),
    cellVmax: need(num(bat, 'CellVMax') ?? maxOf(cellVoltages), '802.CellVMax', 'highest cell voltage'),
    cellVmin: need(num(bat, 'CellVMin') ?? minOf(cellVoltages), '802.CellVMin', 'lowest cell voltage'),
    cellVavg: num(bat, 'CellVAvg'),
    cellVoltages,
    tempMax: maxOf(modules.map((m) => num(m, 'CellTmpMax')).filter((v): v is number => v !== null)) ?? maxOf(cellTemps),
    tempMin: minOf(modules.map((m) => num(m, 'CellTmpMin')).filter((v): v is number => v !== null)) ?? minOf(cellTemps),
    cellTemps,
    chargeCurrentMax: num(bat, 'AChaMax'),
    dischargeCurrentMax: num(bat, 'ADisChaMax'),
    chargePowerMax: num(bat, 'WChaRteMax'),
    dischargePowerMax: num(bat, 'WDisChaRteMax'),
    cycles: nCyc === null ? null : Math.round(nCyc),
    state: enumSymbol(802, 'State', num(bat, 'State')),
    alarms: bitfieldSymbols(802, 'Evt1', num(bat, 'Evt1')),
  };
}

export function pcsTelemetry(set: ModelSet, ts: number): PcsTelemetry {
  const ac = first(set, 701);
  if (!ac) throw new TelemetryMappingError('a PCS needs SunSpec model 701');
  const rating = first(set, 702);
  const ctl = first(set, 704);
  const enabled = num(ctl, 'WSetEna') === 1;
  return {
    ts,
    power: need(num(ac, 'W'), '701.W', 'AC power'),
    reactivePower: num(ac, 'Var'),
    frequency: num(ac, 'Hz'),
    voltage: num(ac, 'LNV') ?? num(ac, 'LLV'),
    state: enumSymbol(701, 'InvSt', num(ac, 'InvSt')),
    gridConnected: num(ac, 'ConnSt') === null ? null : num(ac, 'ConnSt') === 1,
    setpointEnabled: enabled,
    setpoint: enabled ? num(ctl, 'WSet') : null,
    revertTimeS: num(ctl, 'WSetRvrtTms'),
    revertRemainingS: num(ctl, 'WSetRvrtRem'),
    ratedPowerW: num(rating, 'WMaxRtg'),
    maxChargeW: num(rating, 'WChaRteMaxRtg'),
    maxDischargeW: num(rating, 'WDisChaRteMaxRtg'),
    energyInjectedWh: num(ac, 'TotWhInj'),
    energyAbsorbedWh: num(ac, 'TotWhAbs'),
    alarms: bitfieldSymbols(701, 'Alrm', num(ac, 'Alrm')),
  };
}

export function meterTelemetry(set: ModelSet, ts: number): MeterTelemetry {
  const id = METER_MODEL_IDS.find((m) => set.has(m));
  const meter = id === undefined ? undefined : first(set, id);
  if (id === undefined || !meter) throw new TelemetryMappingError('a meter needs one of SunSpec models 201-204');
  return {
    ts,
    power: need(num(meter, 'W'), `${id}.W`, 'power at the grid connection'),
    frequency: num(meter, 'Hz'),
    voltage: num(meter, 'PhV'),
    energyImportWh: num(meter, 'TotWhImp'),
    energyExportWh: num(meter, 'TotWhExp'),
    alarms: bitfieldSymbols(id, 'Evt', num(meter, 'Evt')),
  };
}

/** Which kind of device a model chain describes: the first of battery, PCS, meter that fits. */
export function deviceKindOf(modelIds: Iterable<number>): DeviceKind | undefined {
  const ids = new Set(modelIds);
  if (ids.has(802)) return 'battery';
  if (ids.has(701)) return 'pcs';
  if (METER_MODEL_IDS.some((m) => ids.has(m))) return 'meter';
  return undefined;
}

export type DeviceTelemetry =
  | { kind: 'battery'; battery: BatteryTelemetry }
  | { kind: 'pcs'; pcs: PcsTelemetry }
  | { kind: 'meter'; meter: MeterTelemetry };

export function deviceTelemetry(kind: DeviceKind, models: readonly DecodedModel[], ts: number): DeviceTelemetry {
  const set = groupModels(models);
  switch (kind) {
    case 'battery': return { kind, battery: batteryTelemetry(set, ts) };
    case 'pcs': return { kind, pcs: pcsTelemetry(set, ts) };
    case 'meter': return { kind, meter: meterTelemetry(set, ts) };
  }
}
