// What the API sends and takes, as the dashboard uses it. These types are checked against the API's
// OpenAPI document by tests/api/openapi.test.ts (see dashboard/README.md): a field renamed or
// removed on the server fails that test instead of silently becoming `undefined` here.
import type { Role } from '../auth/permissions';
import type { DeliverySummary } from '../../../domain/notifications/delivery';

export type { Role };

export interface UserView {
  id: string;
  email: string;
  role: Role;
  orgId: string;
  twoFactor: boolean;
  disabled: boolean;
  siteIds: string[];
  createdAt: string;
}

export type SiteState = 'online' | 'offline' | 'unknown';

export interface SiteView {
  id: string;
  orgId: string;
  name: string;
  lat: number | null;
  lon: number | null;
  state: SiteState;
  stateSince: string | null;
  lastSeen: string | null;
  /** How fresh the site's data was when the API answered, and the limits to judge it by later (domain/freshness.ts). */
  freshness?: SiteFreshness;
}

export interface SiteFreshness {
  state: 'fresh' | 'stale' | 'lost';
  lastDataAt: string | null;
  staleAfterMs: number;
  lostAfterMs: number;
}

/** The newest stored values of a site, by field name (io/timeseries/fields.ts). */
export interface LatestView {
  ts: string;
  seq: number;
  fields: Record<string, number>;
}

export type Mode = 'NORMAL' | 'DERATED' | 'SAFE_MODE' | 'ESTOP';

export interface DecisionSummary {
  setpointW: number;
  requestedW: number | null;
  level: 1 | 2 | 3 | 4 | 5 | null;
  source: string | null;
  requestId: string | null;
  mode: Mode;
  reason: string;
}

export interface EnvelopeSummary {
  mode: Mode;
  maxChargeW: number;
  maxDischargeW: number;
}

export type Severity = 'info' | 'warning' | 'critical';
export type AlarmState = 'active' | 'acknowledged' | 'cleared';

export interface AlarmView {
  id: number;
  siteId: string;
  code: string;
  source: string;
  severity: Severity;
  message: string;
  state: AlarmState;
  raisedAt: string;
  lastSeen: string;
  occurrences: number;
  acknowledgedBy: string | null;
  acknowledgedAt: string | null;
  clearedAt: string | null;
  silencedUntil: string | null;
  silenced: boolean;
  /** The id of the episode's root alarm (its own id when it is the root; domain/alarm-episodes.ts). */
  episodeId: number;
  /** What to do about this code, in a sentence. */
  remedy: string;
  /** What became of the alarm's notifications (the alarm list and page; realtime pushes lack it). */
  delivery?: DeliverySummary;
}

export interface Aggregate {
  mean: number | null;
  min: number | null;
  max: number | null;
}

export interface TelemetryBucket {
  start: number | string;
  count: number;
  fields: Record<string, Aggregate>;
}

export type CommandType = 'setpoint' | 'mode' | 'estop' | 'reset';
export type CommandOutcome = 'accepted' | 'rejected' | 'executed' | 'timeout';

export interface CommandRequest {
  type: CommandType;
  powerW?: number;
  mode?: 'auto' | 'standby';
  expiresInS?: number;
  /** reset only: also resume automatic operation (else the site stays at 0 W). */
  resume?: boolean;
}

export interface CommandAck {
  id: string;
  siteId: string;
  outcome: CommandOutcome;
  reason?: string;
  ts: number | string;
  /** An executed setpoint: what was asked, what the site settles at, and the limit that holds it ("the PCS rating"). */
  requestedW?: number;
  appliedW?: number;
  limitedBy?: string;
}

export interface PlanStep {
  start: number;
  priceEurPerMWh: number;
  powerW: number;
  socPct: number;
  gridW: number | null;
  /** With a site tariff: EUR per kWh imported and exported in the step. */
  importEurPerKwh?: number;
  exportEurPerKwh?: number;
}

export interface Plan {
  siteId: string;
  ts: number;
  stepMinutes: 15 | 60;
  steps: PlanStep[];
  objectiveEur: number;
  solveMs: number;
  reason: string;
  /** With a site tariff: the expected bill over the plan with and without the battery, EUR. */
  billEur?: number;
  billNoBatteryEur?: number;
}

export interface AuditView {
  id: number;
  ts: string;
  userId: string | null;
  email: string | null;
  role: string | null;
  orgId: string | null;
  ip: string | null;
  action: string;
  target: string | null;
  outcome: string;
  status: number | null;
  details: unknown;
}

/** GET /sites/:id: the site, its newest values and its open alarms. */
export type SiteDetail = SiteView & { latest?: LatestView | null; openAlarms?: number; plan?: boolean; site?: SiteView };

export interface PlanResponse {
  siteId: string;
  plan: Plan;
  parameters: {
    computedAt: string;
    stepMinutes: number;
    steps: number;
    horizonStart: string | null;
    horizonEnd: string | null;
    objectiveEur: number;
    solveMs: number;
    reason: string;
  };
}

/** GET /sites/:id/commands entries. */
export interface CommandRecord {
  id: string;
  body: { type: CommandType; powerW?: number; durationS?: number; mode?: 'auto' | 'standby'; resume?: boolean };
  issuedAt: string;
  by: string | null;
  outcome: string | null;
  reason: string | null;
  ackedAt: string | null;
}

/** runtime/api/financial.ts FinancialSummary. */
export interface FinancialSummary {
  siteId?: string;
  from?: string;
  to?: string;
  dischargedWh: number;
  chargedWh: number;
  revenueEur: number;
  costEur: number;
  arbitrageEur: number;
  fullCycles: number;
  throughputKwh: number;
  degradationEurPerKwh: number;
  degradationCostEur: number;
  netEur: number;
  unpricedWh: number;
  coveragePct: number;
}
