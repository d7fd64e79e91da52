// safety-limits: telemetry in, safety envelope out. Emits on every battery or PCS telemetry and,
// as a watchdog, once per cycle when none came, so stale telemetry is caught even when the
// devices fall silent. The e-stop latch is kept in the node's context store named 'persistent'
// (the edge runtime backs it with files) so that a restart does not release it; without such a
// store Node-RED falls back to its default store with a warning.
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { z } from 'zod';
import { describeIssues, SafetyCommandSchema, TelemetrySchema, type Envelope } from '../domain/contracts';
import { LFP_DEFAULTS, LfpProfileSchema } from '../domain/lfp/limits';
import {
  DEFAULT_SAFETY_CONFIG, envelope, INITIAL_SAFETY_STATE, latchEstop, resetEstop,
  type SafetyProfile, type SafetyState,
} from '../domain/safety/envelope';
import { mergeTelemetry, type SiteSnapshot } from '../domain/telemetry-snapshot';
import { parseConfig } from '../device-io/config';
import { errorStatus } from '../device-io/status';

const optionalNumber = z.preprocess((v) => (v === '' || v === undefined || v === null ? undefined : v), z.coerce.number().positive().optional());

const SafetyLimitsConfigSchema = z.object({
  siteId: z.string().min(1).default('site-1'),
  cycleMs: z.coerce.number().int().min(10).max(60_000).default(DEFAULT_SAFETY_CONFIG.cycleMs),
  staleCycles: z.coerce.number().int().min(1).max(100).default(DEFAULT_SAFETY_CONFIG.staleCycles),
  capacityWh: optionalNumber,
  /** JSON object overriding any LFP default, e.g. {"socMaxPct": 90}. */
  profile: z.string().default(''),
});

interface SafetyLimitsDef extends NodeDef {
  siteId: string;
  cycleMs: string;
  staleCycles: string;
  capacityWh: string;
  profile: string;
}

/** The context store that keeps the e-stop latch across restarts. */
const ESTOP_STORE = 'persistent';

const FILL: Record<Envelope['mode'], 'green' | 'yellow' | 'red'> = { NORMAL: 'green', DERATED: 'yellow', SAFE_MODE: 'red', ESTOP: 'red' };
const kw = (w: number): string => `${(w / 1000).toFixed(1)} kW`;

function parseSafetyProfile(json: string, capacityWh: number | undefined): SafetyProfile {
  const overrides: unknown = json.trim() ? JSON.parse(json) : {};
  const profile = LfpProfileSchema.parse({ ...LFP_DEFAULTS, ...(overrides as object) });
  return { ...profile, capacityWh };
}

export = function register(RED: NodeAPI): void {
  function SafetyLimitsNode(this: Node, def: SafetyLimitsDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    let cfg: z.infer<typeof SafetyLimitsConfigSchema>;
    let profile: SafetyProfile;
    try {
      cfg = parseConfig(SafetyLimitsConfigSchema, 'safety-limits', def);
      profile = parseSafetyProfile(cfg.profile, cfg.capacityWh);
    } catch (err) {
      // A node that cannot compute an envelope must not pretend to: it emits nothing, and the
      // arbiter downstream, getting no envelope, gives no decision; the PCS reverts to 0 W.
      node.status(errorStatus(err));
      node.error(err instanceof z.ZodError ? `safety-limits: bad profile overrides: ${describeIssues(err)}` : err);
      return;
    }
    const safetyConfig = { ...DEFAULT_SAFETY_CONFIG, cycleMs: cfg.cycleMs, staleCycles: cfg.staleCycles };
    const ctx = node.context();
    let state: SafetyState = { ...INITIAL_SAFETY_STATE, estop: (ctx.get('estop', ESTOP_STORE) as SafetyState['estop'] | undefined) ?? INITIAL_SAFETY_STATE.estop };
    let snapshot: SiteSnapshot = { siteId: cfg.siteId };
    let lastEmit = 0;

    /** Reuses the triggering message, so what it carries (e.g. msg.trace, msg._msgid) flows on. */
    const emit = (msg: NodeMessageInFlow | Record<string, unknown> = {}): void => {
      const now = Date.now();
      const result = envelope(snapshot, profile, state, now, safetyConfig);
      state = result.state;
      lastEmit = now;
      const e = result.envelope;
      node.status({ fill: FILL[e.mode], shape: e.mode === 'ESTOP' ? 'ring' : 'dot', text: `${e.mode} · charge ${kw(e.maxChargeW)} · discharge ${kw(e.maxDischargeW)}` });
      node.send(Object.assign(msg, { topic: 'envelope', payload: e }));
    };

    const watchdog = setInterval(() => {
      // 1.5 cycles: ordinary poll jitter must not add a decision (and a PCS write) of its own.
      if (Date.now() - lastEmit >= cfg.cycleMs * 1.5) emit();
    }, Math.max(10, Math.floor(cfg.cycleMs / 4)));

    node.on('input', (msg: NodeMessageInFlow, _send, done) => {
      const cmd = SafetyCommandSchema.safeParse(msg.payload);
      if (cmd.success) {
        state = cmd.data.type === 'estop' ? latchEstop(state, cmd.data.by, Date.now()) : resetEstop(state);
        ctx.set('estop', state.estop, ESTOP_STORE);
        node.log(`${cmd.data.type} by ${cmd.data.by}`);
        emit();
        return done();
      }
      const t = TelemetrySchema.safeParse(msg.payload);
      if (!t.success) return done(new Error(`safety-limits: not telemetry nor an e-stop command: ${describeIssues(t.error)}`));
      if (t.data.siteId !== cfg.siteId) return done(new Error(`safety-limits: telemetry for site ${t.data.siteId}, this node guards ${cfg.siteId}`));
      snapshot = mergeTelemetry(snapshot, t.data);
      // Battery telemetry drives the cycle: one envelope, one decision, one write per battery
      // poll. PCS and meter parts only update the snapshot (the watchdog still covers silence).
      if (t.data.battery) emit(msg);
      done();
    });

    node.on('close', () => clearInterval(watchdog));
    emit();
  }
  RED.nodes.registerType('safety-limits', SafetyLimitsNode);
};
