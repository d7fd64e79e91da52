// What the editor's live site sidebar shows about one site: the latest telemetry, envelope and
// decision reduced to the few numbers an integrator watches, the envelope's active alarms with
// their acknowledgement, the last distinct decisions, and how fresh each device's data is (the
// definition the cloud uses too: domain/freshness.ts, in control cycles). Pure: the site-status
// node feeds it and publishes view(now) to the editor.
import { edgeLimits, freshness, type Freshness, type FreshnessLimits } from '../freshness';
import { LEVEL_NAMES, type Alarm, type Decision, type EffectiveSettings, type Envelope, type Level, type Mode, type Telemetry } from '../contracts';
import { SiteTelemetry } from '../telemetry-snapshot';

/** Decisions kept for the sidebar's history. */
export const DECISION_HISTORY = 10;

export interface AlarmView {
  code: string;
  severity: Alarm['severity'];
  message: string;
  source: string;
  /** When the alarm became active (its first appearance in an envelope), ms epoch. */
  since: number;
  ack: { by: string; ts: number } | null;
}

export interface DecisionView {
  ts: number;
  setpointW: number;
  requestedW: number | null;
  level: number | null;
  levelName: string | null;
  source: string | null;
  mode: Mode;
  reason: string;
}

/** The sidebar's view of a site: numbers only, no configuration and no credentials. */
export interface SiteStatusView {
  siteId: string;
  updatedAt: number;
  battery: { ts: number; soc: number; powerW: number; voltage: number; current: number; state: string; cellVmin: number; cellVmax: number; tempMax: number | null } | null;
  pcs: { ts: number; powerW: number; state: string; setpointW: number | null } | null;
  meter: { ts: number; gridW: number } | null;
  envelope: { ts: number; mode: Mode; maxChargeW: number; maxDischargeW: number; restrictions: string[] } | null;
  decision: DecisionView | null;
  alarms: AlarmView[];
  decisions: DecisionView[];
  /** Each device's data by age; `site` is the worst of battery and PCS, what the envelope works from. */
  freshness: { site: Freshness; battery: Freshness; pcs: Freshness; meter: Freshness | null };
  /** The strategy settings in force and where they come from (site-settings), null when no site-settings node reports. */
  settings?: EffectiveSettings | null;
}

const WORSE: Record<Freshness, number> = { fresh: 0, stale: 1, lost: 2 };

const alarmKey = (source: string, code: string): string => `${source}\u0000${code}`;

function decisionView(d: Decision): DecisionView {
  return {
    ts: d.ts, setpointW: d.setpointW, requestedW: d.requestedW, level: d.level,
    levelName: d.level ? LEVEL_NAMES[d.level as Level] : null, source: d.source, mode: d.mode, reason: d.reason,
  };
}

/** Two decisions the integrator would not tell apart: the history keeps only changes. */
function sameDecision(a: DecisionView, b: DecisionView): boolean {
  return a.level === b.level && a.source === b.source && a.mode === b.mode && a.reason === b.reason && Math.round(a.setpointW) === Math.round(b.setpointW);
}

export class SiteStatus {
  private readonly site: SiteTelemetry;
  private envelope: Envelope | null = null;
  private decision: DecisionView | null = null;
  private history: DecisionView[] = [];
  private alarms = new Map<string, AlarmView>();
  private updatedAt = 0;
  private settings: EffectiveSettings | null = null;

  constructor(readonly siteId: string, private readonly limits: FreshnessLimits = edgeLimits(1000)) {
    this.site = new SiteTelemetry(siteId);
  }

  /** Merges a device's part; false, and nothing shown, when it belongs to another site. */
  addTelemetry(t: Telemetry): boolean {
    if (!this.site.add(t)) return false;
    this.updatedAt = Math.max(this.updatedAt, t.ts);
    return true;
  }

  /** The envelope lists the alarms active now: new ones appear unacknowledged, cleared ones go. */
  setEnvelope(e: Envelope): void {
    this.envelope = e;
    this.updatedAt = Math.max(this.updatedAt, e.ts);
    const next = new Map<string, AlarmView>();
    for (const a of e.alarms) {
      if (!a.active) continue;
      const k = alarmKey(a.source, a.code);
      const known = this.alarms.get(k);
      next.set(k, { code: a.code, severity: a.severity, message: a.message, source: a.source, since: known?.since ?? a.ts, ack: known?.ack ?? null });
    }
    this.alarms = next;
  }

  setDecision(d: Decision): void {
    const v = decisionView(d);
    this.decision = v;
    this.updatedAt = Math.max(this.updatedAt, d.ts);
    const head = this.history[0];
    if (head && sameDecision(head, v)) this.history[0] = v;
    else this.history = [v, ...this.history].slice(0, DECISION_HISTORY);
  }

  setSettings(e: EffectiveSettings): void {
    this.settings = e;
  }

  /** Acknowledges an active alarm; false when no such alarm is active. An ack ends with the alarm. */
  acknowledge(source: string, code: string, by: string, ts: number): boolean {
    const a = this.alarms.get(alarmKey(source, code));
    if (!a) return false;
    a.ack = { by, ts };
    return true;
  }

  view(now: number = this.updatedAt): SiteStatusView {
    const { battery: b, pcs: p, meter: m } = this.site.snapshot;
    const e = this.envelope;
    const age = (ts: number | null | undefined): Freshness => freshness(ts ?? null, now, this.limits);
    const battery = age(b?.ts);
    const pcs = age(p?.ts);
    return {
      siteId: this.siteId,
      updatedAt: this.updatedAt,
      battery: b ? { ts: b.ts, soc: b.soc, powerW: b.power, voltage: b.voltage, current: b.current, state: b.state, cellVmin: b.cellVmin, cellVmax: b.cellVmax, tempMax: b.tempMax } : null,
      pcs: p ? { ts: p.ts, powerW: p.power, state: p.state, setpointW: p.setpoint } : null,
      meter: m ? { ts: m.ts, gridW: m.power } : null,
      envelope: e ? { ts: e.ts, mode: e.mode, maxChargeW: e.maxChargeW, maxDischargeW: e.maxDischargeW, restrictions: e.restrictions.map((r) => `${r.direction}: ${r.cause} (${Math.round(r.limitW)} W)`) } : null,
      decision: this.decision,
      alarms: [...this.alarms.values()].map((a) => ({ ...a, ack: a.ack ? { ...a.ack } : null })),
      decisions: [...this.history],
      freshness: { site: WORSE[battery] >= WORSE[pcs] ? battery : pcs, battery, pcs, meter: m ? age(m.ts) : null },
      settings: this.settings,
    };
  }
}
