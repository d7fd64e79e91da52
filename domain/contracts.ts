// The message contracts: every boundary (node input, Modbus decode, MQTT payload, HTTP body)
// parses with these schemas. Units and signs follow docs/ARCHITECTURE.md, "Conventions": power in W, positive = battery
// discharging (delivering to the site); grid power positive = import; current positive = discharge;
// energy Wh; SoC and SoH in %; temperature degC; times in ms since the epoch, UTC.
import { z } from 'zod';
import { ROLES } from './roles';
import { FEATURE_NAMES } from './anomaly/feature-names';
import { STEPS_PER_DAY } from './forecast/features';
import { SiteSettingsSchema } from './site-settings/settings';

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
  /**
   * The hottest and coldest cell, degC; null where the BMS reports no temperature (no SunSpec 805):
   * the safety envelope then derates and says so, it never assumes a value.
   */
  tempMax: finite.nullable(),
  tempMin: finite.nullable(),
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

// ---------------------------------------------------------------- control: envelope, requests, decision

/** The arbiter's levels, highest priority first (docs/ARCHITECTURE.md, "The arbiter"). */
export const LEVELS = { SAFETY: 1, GRID: 2, OPERATOR: 3, SITE: 4, ECONOMIC: 5 } as const;
export type Level = (typeof LEVELS)[keyof typeof LEVELS];
export const LevelSchema = z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4), z.literal(5)]);
export const LEVEL_NAMES: Record<Level, string> = { 1: 'SAFETY', 2: 'GRID', 3: 'OPERATOR', 4: 'SITE', 5: 'ECONOMIC' };

export const MODES = ['NORMAL', 'DERATED', 'SAFE_MODE', 'ESTOP'] as const;
export const ModeSchema = z.enum(MODES);
export type Mode = z.infer<typeof ModeSchema>;

export const SEVERITIES = ['info', 'warning', 'critical'] as const;

export const AlarmSchema = z.object({
  /** Stable machine code, e.g. CELL_OVER_VOLTAGE, TELEMETRY_STALE. */
  code: z.string().min(1).max(64),
  severity: z.enum(SEVERITIES),
  message: z.string().max(500),
  source: z.string().min(1).max(128),
  ts: epochMs,
  active: z.boolean(),
  siteId: z.string().min(1).max(64).optional(),
});
export type Alarm = z.infer<typeof AlarmSchema>;

/** A restriction of the envelope and the alarm code that caused it. */
export const RestrictionSchema = z.object({
  direction: z.enum(['charge', 'discharge']),
  cause: z.string().min(1),
  /** The power this cause alone allows, W >= 0. */
  limitW: finite.nonnegative(),
  detail: z.string(),
});
export type Restriction = z.infer<typeof RestrictionSchema>;

/** What the battery may do right now. Both limits are magnitudes in W. */
export const EnvelopeSchema = z.object({
  siteId: z.string().min(1),
  ts: epochMs,
  mode: ModeSchema,
  maxChargeW: finite.nonnegative(),
  maxDischargeW: finite.nonnegative(),
  restrictions: z.array(RestrictionSchema),
  alarms: z.array(AlarmSchema),
});
export type Envelope = z.infer<typeof EnvelopeSchema>;

/** A wish for battery power from one source at one level, valid until expiresAt. */
export const RequestSchema = z.object({
  level: LevelSchema,
  source: z.string().min(1).max(128),
  powerW: finite,
  /** When it was made, ms epoch: ties within a level go to the newest. */
  ts: epochMs,
  expiresAt: epochMs,
  id: z.string().max(128).optional(),
  reason: z.string().max(500).optional(),
});
export type Request = z.infer<typeof RequestSchema>;

export const ClampSchema = z.object({
  by: z.enum(['envelope', 'ramp']),
  fromW: finite,
  toW: finite,
  why: z.string(),
});

export const IgnoredRequestSchema = z.object({
  source: z.string(),
  level: z.number().nullable(),
  /** 'reset': made before the latest reset, or automatic while automatic operation is off (domain/arbiter/restart.ts). */
  why: z.enum(['expired', 'malformed', 'superseded', 'safety', 'reset']),
  detail: z.string(),
});

export const DecisionSchema = z.object({
  siteId: z.string().min(1),
  ts: epochMs,
  setpointW: finite,
  /** What the winner asked for, before clamping and ramping; null when nothing valid was asked. */
  requestedW: finite.nullable(),
  level: LevelSchema.nullable(),
  source: z.string().nullable(),
  /** The winning request's id, when it had one (commands are acknowledged by it). */
  requestId: z.string().nullable(),
  mode: ModeSchema,
  clamps: z.array(ClampSchema),
  ignored: z.array(IgnoredRequestSchema),
  reason: z.string(),
  /** The winner's expiry, ms (an override's remaining time). */
  expiresAt: epochMs.nullable().optional(),
  /** The envelope limit the winner's request exceeds, whatever the ramp does meanwhile; null when it fits. */
  limit: z.object({
    direction: z.enum(['charge', 'discharge']),
    /** The power the request settles at, W (signed like the request). */
    appliedW: finite,
    /** The restriction causes that set it (EnvelopeSchema restrictions). */
    causes: z.array(z.string()),
  }).nullable().optional(),
  /** Set while the battery is held after a reset (domain/arbiter/restart.ts): since when, by whom, and whether automatic levels may run. */
  hold: z.object({ since: epochMs, by: z.string().nullable(), automatic: z.boolean() }).nullable().optional(),
});
export type Decision = z.infer<typeof DecisionSchema>;

// ---------------------------------------------------------------- operator commands

export { ROLES, type Role } from './roles';
export { SiteSettingsSchema, SiteSettingsFieldsSchema, EffectiveSettingsSchema, type SiteSettings, type SiteSettingsFields, type EffectiveSettings } from './site-settings/settings';
export const RoleSchema = z.enum(ROLES);

/** A person's command for one site, as it reaches the edge flow. */
export const OperatorCommandSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('setpoint'),
    /** W, positive = discharge. */
    powerW: finite,
    /** How long it holds, s; at most a day so a forgotten command cannot run for ever. */
    durationS: z.number().positive().max(86_400),
    id: z.string().max(128).optional(),
    by: z.string().min(1).max(256),
    role: RoleSchema.optional(),
  }),
  /** Ends the operator's request; with resume, automatic levels run again after a reset held them. */
  z.object({ type: z.literal('clear'), resume: z.boolean().optional(), id: z.string().max(128).optional(), by: z.string().min(1).max(256), role: RoleSchema.optional() }),
  z.object({ type: z.literal('estop'), id: z.string().max(128).optional(), by: z.string().min(1).max(256), role: RoleSchema.optional() }),
  /** Releases the e-stop; the battery stays at 0 W unless resume asks automatic operation to run again. */
  z.object({ type: z.literal('reset'), resume: z.boolean().optional(), id: z.string().max(128).optional(), by: z.string().min(1).max(256), role: RoleSchema.optional() }),
]);
export type OperatorCommand = z.infer<typeof OperatorCommandSchema>;

/** What the safety-limits node takes besides telemetry: latch or release the e-stop. */
export const SafetyCommandSchema = z.object({
  type: z.enum(['estop', 'reset']),
  by: z.string().min(1).max(256),
  id: z.string().max(128).optional(),
});
export type SafetyCommand = z.infer<typeof SafetyCommandSchema>;

/**
 * What operator-command tells the arbiter besides requests: a reset was commanded (with the
 * person's choice whether automatic operation resumes), or automatic operation may resume.
 */
export const RestartNoticeSchema = z.object({
  type: z.enum(['reset', 'resume']),
  by: z.string().min(1).max(256),
  resume: z.boolean(),
});
export type RestartNotice = z.infer<typeof RestartNoticeSchema>;

/**
 * Who sent an HTTP request to a flow's endpoint, as the host authenticated it (the edge's bearer
 * token): the host sets it on the request under HTTP_PRINCIPAL_KEY, where nodes after an http-in
 * read it as msg.req[HTTP_PRINCIPAL_KEY]. It outranks whatever the body claims.
 */
export const HTTP_PRINCIPAL_KEY = 'lifo4Principal';
export const HttpPrincipalSchema = z.object({ by: z.string().min(1).max(256), role: RoleSchema });
export type HttpPrincipal = z.infer<typeof HttpPrincipalSchema>;

// ---------------------------------------------------------------- prices and plans (strategies)

/** Switches a strategy node on or off at run time (an inject button, the dashboard). */
export const StrategySwitchSchema = z.object({ enabled: z.boolean() }).strict();

/** Prices on a regular grid: pricesEurPerMWh[i] holds from start + i * stepMinutes. */
export const PriceSeriesSchema = z.object({
  start: epochMs,
  stepMinutes: z.union([z.literal(15), z.literal(60)]),
  pricesEurPerMWh: z.array(finite).min(1).max(24 * 4 * 14),
  /** Where the prices came from, e.g. "EPEX day-ahead DE-LU" or a file name. */
  source: z.string().max(256).optional(),
});
export type PriceSeries = z.infer<typeof PriceSeriesSchema>;

/** One step of a battery schedule: power is the battery's, + = discharge. */
export const PlanStepSchema = z.object({
  start: epochMs,
  priceEurPerMWh: finite,
  powerW: finite,
  /** SoC at the end of the step, %. */
  socPct: z.number().min(0).max(100),
  /** Grid power at the site connection in this step, + = import, when load and PV were known. */
  gridW: finite.nullable(),
  /** With a site tariff: what a kWh imported and exported costs and earns in this step, EUR/kWh. */
  importEurPerKwh: finite.optional(),
  exportEurPerKwh: finite.optional(),
});

export const PlanSchema = z.object({
  siteId: z.string().min(1),
  ts: epochMs,
  stepMinutes: z.union([z.literal(15), z.literal(60)]),
  steps: z.array(PlanStepSchema),
  /** Expected net revenue of the plan, EUR (degradation cost deducted). */
  objectiveEur: finite,
  solveMs: z.number().nonnegative(),
  reason: z.string(),
  /** With a site tariff: the site's expected bill over the plan with the battery and without it, EUR. */
  billEur: finite.optional(),
  billNoBatteryEur: finite.optional(),
});
export type Plan = z.infer<typeof PlanSchema>;

/** A plan as a site publishes it (retained on lifo4/<siteId>/plan) and the cloud keeps it. */
export const SitePlanSchema = z.object({ v: z.literal(1), siteId: z.string().min(1).max(64), plan: PlanSchema });
export type SitePlan = z.infer<typeof SitePlanSchema>;

// ---------------------------------------------------------------- edge <-> cloud (MQTT, topics in topics.ts)

/** The broker's service account: its username, never a site's id. */
export const CLOUD_USERNAME = 'cloud';

/**
 * Whether a site id is reserved for the system itself: the broker's service account ("cloud",
 * which has full broker access) and the "lifo4" prefix that the cloud's and the edge flow's MQTT
 * client ids start with (runtime/broker/acl.ts binds a site's client ids to its own id). Refused
 * everywhere a site id is accepted, because every such place parses it with SiteIdSchema.
 */
export function isReservedSiteId(id: string): boolean {
  const lower = id.toLowerCase();
  return lower === CLOUD_USERNAME || lower.startsWith('lifo4');
}

export const SiteIdSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, 'siteId: letters, digits, _ and - only')
  .refine((id) => !isReservedSiteId(id), { message: `siteId: "${CLOUD_USERNAME}" and ids beginning with "lifo4" are reserved` });

/** The largest MQTT payload either side accepts; a larger one is rejected unread and counted. */
export const MAX_MQTT_PAYLOAD_BYTES = 256 * 1024;

/** What the arbiter decided, reduced to what the fleet needs to see (the full Decision stays at the edge). */
export const DecisionSummarySchema = DecisionSchema.pick({ setpointW: true, requestedW: true, level: true, source: true, requestId: true, mode: true, reason: true });
export type DecisionSummary = z.infer<typeof DecisionSummarySchema>;

/** What the load-forecast node sends: the next day's 96 steps in kW (+ = site consumption). */
export const LoadForecastSchema = z.object({
  siteId: z.string(),
  /** When the forecast was made, ms. */
  ts: z.number(),
  /** Start of the first step, ms UTC (the site's local midnight). */
  start: z.number(),
  stepMinutes: z.literal(15),
  loadKw: z.array(z.number()).length(STEPS_PER_DAY),
  /** Model identity (file name and training date), for the dashboard and rollbacks. */
  model: z.string(),
  filledSteps: z.number().int().min(0),
});
export type LoadForecast = z.infer<typeof LoadForecastSchema>;

/** What the soh-estimate node sends: the pack's state of health now and where it comes from. */
export const SohEstimateMessageSchema = z.object({
  siteId: z.string().min(1),
  /** Telemetry time of the estimate, ms. */
  ts: z.number(),
  /** Capacity now over rated capacity, %. */
  sohPct: z.number(),
  /** One standard deviation of sohPct, SoH points. */
  sdPct: z.number().nonnegative(),
  /** Usable energy at this SoH: sohPct x the rated energy, Wh. */
  capacityWh: z.number().nonnegative(),
  /** 'measured' once a capacity measurement between two OCV-pinned rests went in, else the ageing model alone. */
  source: z.enum(['measured', 'prior']),
  measurements: z.number().int().nonnegative(),
  /** Equivalent full cycles, and the ageing model's SoH there, %. */
  cycles: z.number().nonnegative(),
  priorPct: z.number(),
});
export type SohEstimateMessage = z.infer<typeof SohEstimateMessageSchema>;

/** What the anomaly-score node sends per cycle (one site-local day). */
export const AnomalyScoreSchema = z.object({
  siteId: z.string().min(1),
  /** The cycle (one site-local day) scored: [start, end), ms UTC. */
  cycleStart: z.number(),
  cycleEnd: z.number(),
  /** Isolation-forest score, 0..1 (near 1: isolated in few splits, an anomaly). */
  score: z.number(),
  threshold: z.number(),
  anomalous: z.boolean(),
  /** The cycle's features by name (cycle-features.ts), for the dashboard. */
  features: z.record(z.enum(FEATURE_NAMES), z.number()),
  samples: z.number().int().nonnegative(),
  model: z.string(),
});
export type AnomalyScore = z.infer<typeof AnomalyScoreSchema>;

/**
 * What the edge's models concluded since the previous record: the day-ahead load
 * forecast, the state-of-health estimate, a cycle's anomaly score. Each rides in one record, so it
 * is buffered, resent and acknowledged like the telemetry beside it.
 */
export const InsightsSchema = z.object({
  forecast: LoadForecastSchema.optional(),
  soh: SohEstimateMessageSchema.optional(),
  anomaly: AnomalyScoreSchema.optional(),
});
export type Insights = z.infer<typeof InsightsSchema>;

/**
 * How the edge keeps up, as of the record: the records in its buffer the cloud has not yet
 * acknowledged (this one not counted), how old the oldest of them is, and its last control cycle
 * (battery poll start to PCS setpoint written). Optional in the record: older edges send none.
 */
export const EdgeHealthSchema = z.object({
  bufferDepth: z.number().int().nonnegative(),
  /** Age of the oldest unacknowledged record when this one was made, s; 0 when none waited. */
  oldestUnsentS: z.number().finite().nonnegative(),
  cycleMs: z.number().finite().nonnegative().optional(),
});
export type EdgeHealth = z.infer<typeof EdgeHealthSchema>;

/**
 * One record of a site's stream to the cloud: the merged telemetry snapshot of a loop cycle, what
 * the arbiter decided and the envelope it decided in, and any alarm transitions since the previous
 * record. `seq` is per site, starts at 1 and has no gaps: the cloud deduplicates by (siteId, seq)
 * and acknowledges what it has stored, and only then does the edge forget a record.
 */
export const TelemetryRecordSchema = z.object({
  siteId: SiteIdSchema,
  seq: z.number().int().positive(),
  ts: epochMs,
  telemetry: TelemetrySchema.optional(),
  decision: DecisionSummarySchema.optional(),
  envelope: EnvelopeSchema.pick({ mode: true, maxChargeW: true, maxDischargeW: true }).optional(),
  alarms: z.array(AlarmSchema).max(100).optional(),
  insights: InsightsSchema.optional(),
  edge: EdgeHealthSchema.optional(),
});
export type TelemetryRecord = z.infer<typeof TelemetryRecordSchema>;

/** The payload on lifo4/<siteId>/telemetry: one site's records in seq order (one when live, more when draining). */
export const TelemetryBatchSchema = z
  .object({ v: z.literal(1), siteId: SiteIdSchema, records: z.array(TelemetryRecordSchema).min(1).max(1000) })
  .refine((b) => b.records.every((r) => r.siteId === b.siteId), { message: 'every record must carry the batch siteId' });
export type TelemetryBatch = z.infer<typeof TelemetryBatchSchema>;

/**
 * The payload on lifo4/<siteId>/telemetry/ack, sent only after the records are committed to the
 * store. `ranges` lists exactly what was stored (inclusive [from, to] seq pairs), because with shared
 * subscriptions several cloud runtimes store parts of one site's stream; `seq` is the highest stored.
 */
export const TelemetryAckSchema = z.object({
  v: z.literal(1),
  siteId: SiteIdSchema,
  seq: z.number().int().positive(),
  ranges: z.array(z.tuple([z.number().int().positive(), z.number().int().positive()])).min(1).max(10_000),
});
export type TelemetryAck = z.infer<typeof TelemetryAckSchema>;

/** Retained on lifo4/<siteId>/state; 'offline' is also the edge's MQTT last will. */
export const SiteStateSchema = z.object({
  v: z.literal(1),
  siteId: SiteIdSchema,
  state: z.enum(['online', 'offline']),
  ts: epochMs,
  version: z.string().max(64).optional(),
});
export type SiteState = z.infer<typeof SiteStateSchema>;

/** What a remote command asks of a site. 'mode' standby holds 0 W at operator level; auto clears it and resumes automatic operation. */
export const CommandBodySchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('setpoint'), powerW: finite, durationS: z.number().positive().max(86_400) }),
  z.object({ type: z.literal('mode'), mode: z.enum(['auto', 'standby']), durationS: z.number().positive().max(86_400).optional() }),
  z.object({ type: z.literal('estop') }),
  /** resume: the person resetting chose to resume automatic operation (else the site stays at 0 W). */
  z.object({ type: z.literal('reset'), resume: z.boolean().optional() }),
  /** The site's strategy settings document (domain/site-settings): the edge checks it against its limits, applies and keeps it. */
  z.object({ type: z.literal('settings'), settings: SiteSettingsSchema }),
]);
export type CommandBody = z.infer<typeof CommandBodySchema>;

/**
 * The payload on lifo4/<siteId>/cmd. `sig` authenticates every other field with the site's key
 * (see domain/commands/signature.ts); `id` is unique, so a replay is recognised, and the command is
 * void after `expiresAt`.
 */
export const SignedCommandSchema = z.object({
  v: z.literal(1),
  id: z.string().min(8).max(128).regex(/^[A-Za-z0-9_-]+$/, 'id: letters, digits, _ and - only'),
  siteId: SiteIdSchema,
  issuedAt: epochMs,
  expiresAt: epochMs,
  by: z.string().min(1).max(256),
  role: RoleSchema,
  body: CommandBodySchema,
  sig: z.string().min(1).max(512),
});
export type SignedCommand = z.infer<typeof SignedCommandSchema>;

export const COMMAND_OUTCOMES = ['accepted', 'rejected', 'executed', 'timeout'] as const;

/** The payload on lifo4/<siteId>/cmd/ack; 'timeout' is only ever set by the cloud. */
export const CommandAckSchema = z.object({
  v: z.literal(1),
  id: z.string().min(1).max(128),
  siteId: SiteIdSchema,
  outcome: z.enum(COMMAND_OUTCOMES),
  reason: z.string().max(500).optional(),
  ts: epochMs,
  /** For an executed setpoint: what was asked and what the site settles at, W. */
  requestedW: finite.optional(),
  appliedW: finite.optional(),
  /** The limit that held the setpoint below what was asked, in words ("the PCS rating"). */
  limitedBy: z.string().max(200).optional(),
});
export type CommandAck = z.infer<typeof CommandAckSchema>;
