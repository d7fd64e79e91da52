// What goes into a site's next telemetry record: the latest of each telemetry part (the site's join,
// domain/telemetry-snapshot.ts), the latest decision and envelope, and the alarm transitions since
// the previous record (explicit alarm messages, and alarms appearing in or leaving the envelope),
// and the latest insight of each model (load forecast, SoH estimate, anomaly score) that arrived
// since the previous record: each rides in exactly one record, buffered and acked like the rest.
import type { Alarm, Decision, DecisionSummary, Envelope, Insights, Telemetry, TelemetryRecord } from '../../domain/contracts';
import { SiteTelemetry } from '../../domain/telemetry-snapshot';
import type { NewRecord } from '../../io/buffer/telemetry-buffer';

const MAX_ALARMS_PER_RECORD = 100;

const alarmKey = (a: Alarm): string => `${a.source}\u0000${a.code}`;

export class SiteRecordBuilder {
  private readonly site: SiteTelemetry;
  private decision: DecisionSummary | undefined;
  private envelope: TelemetryRecord['envelope'];
  private alarms: Alarm[] = [];
  private envelopeAlarms = new Map<string, Alarm>();
  private insights: Insights = {};
  private fresh = false;
  /** Alarm transitions that did not fit into a record (more than 100 between two records). */
  overflowedAlarms = 0;

  constructor(readonly siteId: string) {
    this.site = new SiteTelemetry(siteId);
  }

  addTelemetry(t: Telemetry): void {
    if (!this.site.add(t)) throw new Error(`telemetry of site ${t.siteId}, this node sends ${this.siteId}`);
    this.fresh = true;
  }

  setDecision(d: Decision): void {
    if (d.siteId !== this.siteId) throw new Error(`decision of site ${d.siteId}, this node sends ${this.siteId}`);
    this.decision = { setpointW: d.setpointW, requestedW: d.requestedW, level: d.level, source: d.source, requestId: d.requestId, mode: d.mode, reason: d.reason };
    this.fresh = true;
  }

  setEnvelope(e: Envelope): void {
    if (e.siteId !== this.siteId) throw new Error(`envelope of site ${e.siteId}, this node sends ${this.siteId}`);
    this.envelope = { mode: e.mode, maxChargeW: e.maxChargeW, maxDischargeW: e.maxDischargeW };
    // The envelope lists the alarms active now: report the ones that appeared and the ones that left.
    const now = new Map(e.alarms.filter((a) => a.active).map((a) => [alarmKey(a), a] as const));
    for (const [k, a] of now) if (!this.envelopeAlarms.has(k)) this.addAlarm(a);
    for (const [k, a] of this.envelopeAlarms) if (!now.has(k)) this.addAlarm({ ...a, active: false, ts: e.ts });
    this.envelopeAlarms = now;
    this.fresh = true;
  }

  addAlarm(a: Alarm): void {
    if (this.alarms.length >= MAX_ALARMS_PER_RECORD) {
      this.overflowedAlarms++;
      return;
    }
    this.alarms.push(a.siteId ? a : { ...a, siteId: this.siteId });
    this.fresh = true;
  }

  /** Models' outputs for the next record; a newer one of the same kind before it replaces it. */
  setInsights(part: Insights): void {
    for (const [kind, value] of Object.entries(part)) {
      if (value && value.siteId !== this.siteId) throw new Error(`${kind} of site ${value.siteId}, this node sends ${this.siteId}`);
    }
    this.insights = { ...this.insights, ...part };
    this.fresh = true;
  }

  /** The next record, or null when nothing arrived since the previous one. */
  take(ts: number): NewRecord | null {
    if (!this.fresh) return null;
    this.fresh = false;
    const r: NewRecord = { siteId: this.siteId, ts };
    const telemetry = this.site.joined();
    if (telemetry) r.telemetry = telemetry;
    if (this.decision) r.decision = this.decision;
    if (this.envelope) r.envelope = this.envelope;
    if (this.alarms.length > 0) {
      r.alarms = this.alarms;
      this.alarms = [];
    }
    if (Object.keys(this.insights).length > 0) {
      r.insights = this.insights;
      this.insights = {};
    }
    return r;
  }
}

/**
 * A record small enough for one MQTT message: a record that alone exceeded the limit could never
 * be delivered and would hold up every record behind it. Per-cell arrays go first (the min/max/avg
 * stay), then the record is refused.
 */
export function fitRecord(r: NewRecord, maxBytes: number): NewRecord | null {
  if (Buffer.byteLength(JSON.stringify(r)) + 32 <= maxBytes) return r;
  const battery = r.telemetry?.battery;
  if (r.telemetry && battery) {
    const slim: NewRecord = { ...r, telemetry: { ...r.telemetry, battery: { ...battery, cellVoltages: [], cellTemps: [] } } };
    if (Buffer.byteLength(JSON.stringify(slim)) + 32 <= maxBytes) return slim;
  }
  return null;
}
