// The message contracts: every boundary (node input, Modbus decode, MQTT payload, HTTP body)
// parses with these schemas. Units and signs follow DESIGN.md: power in W, positive = battery
// discharging (delivering to the site); grid power positive = import; current positive = discharge;
// energy Wh; SoC and SoH in %; temperature degC; times in ms since the epoch, UTC.
import { z } from 'zod';

const finite = z.number().finite();
const epochMs = z.number().int().nonnegative();
const percent = z.number().min(0).max(100);

export const BatteryTelemetrySchema = z.object({
  ts: epochMs,
  soc: percent,
  soh: percent.nullable(),
  voltage: finite,
  current: finite,
  power: finite,
  capacityWh: finite.nonnegative().nullable(),
  energyAvailableWh: finite.nonnegative().nullable(),
  cellVmax: finite,
  cellVmin: finite,
  cellVavg: finite.nullable(),
  /** Every cell's voltage where the BMS publishes them (SunSpec model 805), else empty. */
  cellVoltages: z.array(finite),
  tempMax: finite,
  tempMin: finite,
  cellTemps: z.array(finite),
  /** The BMS's own current limits (AChaMax / ADisChaMax), A, both >= 0. */
  chargeCurrentMax: finite.nonnegative().nullable(),
  dischargeCurrentMax: finite.nonnegative().nullable(),
  chargePowerMax: finite.nonnegative().nullable(),
  dischargePowerMax: finite.nonnegative().nullable(),
  cycles: z.number().int().nonnegative().nullable(),
  /** SunSpec 802 State symbol, e.g. CONNECTED, FAULT. */
  state: z.string(),
  /** Active SunSpec 802 Evt1 symbols, e.g. OVER_TEMP_ALARM. */
  alarms: z.array(z.string()),
});
export type BatteryTelemetry = z.infer<typeof BatteryTelemetrySchema>;

export const PcsTelemetrySchema = z.object({
  ts: epochMs,
  power: finite,
  reactivePower: finite.nullable(),
  frequency: finite.nullable(),
  voltage: finite.nullable(),
  /** SunSpec 701 InvSt symbol, e.g. RUNNING, FAULT. */
  state: z.string(),
  gridConnected: z.boolean().nullable(),
  setpointEnabled: z.boolean(),
  /** The active-power setpoint the PCS holds, W, null while disabled. */
  setpoint: finite.nullable(),
  revertTimeS: z.number().nonnegative().nullable(),
  revertRemainingS: z.number().nonnegative().nullable(),
  ratedPowerW: finite.nonnegative().nullable(),
  maxChargeW: finite.nonnegative().nullable(),
  maxDischargeW: finite.nonnegative().nullable(),
  energyInjectedWh: finite.nonnegative().nullable(),
  energyAbsorbedWh: finite.nonnegative().nullable(),
  alarms: z.array(z.string()),
});
export type PcsTelemetry = z.infer<typeof PcsTelemetrySchema>;

export const MeterTelemetrySchema = z.object({
  ts: epochMs,
  /** Grid power at the connection point, W, positive = import. */
  power: finite,
  frequency: finite.nullable(),
  voltage: finite.nullable(),
  energyImportWh: finite.nonnegative().nullable(),
  energyExportWh: finite.nonnegative().nullable(),
  alarms: z.array(z.string()),
});
export type MeterTelemetry = z.infer<typeof MeterTelemetrySchema>;

export const DEVICE_KINDS = ['battery', 'pcs', 'meter'] as const;
export type DeviceKind = (typeof DEVICE_KINDS)[number];

/**
 * A telemetry record: one site, one moment, the parts the sender knows. A device node sends the
 * part of its device; a join of several devices sends them together. Each part has its own ts.
 */
export const TelemetrySchema = z
  .object({
    siteId: z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/, 'siteId: letters, digits, _ and - only'),
    deviceId: z.string().min(1).max(128).optional(),
    ts: epochMs,
    battery: BatteryTelemetrySchema.optional(),
    pcs: PcsTelemetrySchema.optional(),
    meter: MeterTelemetrySchema.optional(),
  })
  .refine((t) => t.battery || t.pcs || t.meter, { message: 'telemetry needs at least one of battery, pcs, meter' });
export type Telemetry = z.infer<typeof TelemetrySchema>;

/** One line naming every problem zod found, for node.error and HTTP 400 bodies. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
}
