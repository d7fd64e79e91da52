// safety-limits: telemetry in, safety envelope out. Emits on every battery or PCS telemetry and,
// as a watchdog, once per cycle when none came, so stale telemetry is caught even when the
// devices fall silent. The e-stop latch lives in a file of its own under the Node-RED user
// directory (io/safety/latch-file), written before the latch reaches the output, so neither a
// redeploy nor a restart releases it, in any Node-RED; the node holds 0 W while it cannot write it.
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { z } from 'zod';
import { describeIssues, SafetyCommandSchema, type Envelope } from '../../domain/contracts';
import { LFP_DEFAULTS, LfpProfileSchema } from '../../domain/lfp/limits';
import { DEFAULT_SAFETY_CONFIG, envelope, type SafetyProfile } from '../../domain/safety/envelope';
import { EstopLatchSchema, LatchKeeper, type LatchEvent } from '../../domain/safety/latch';
import { SiteTelemetry } from '../../domain/telemetry-snapshot';
import { latchFileStore } from '../../io/safety/latch-file';
import { parseConfig, siteIdField } from '../kit/config';
import { otherSiteError, takeTelemetry } from '../kit/site-telemetry';
import { errorStatus, shorten } from '../kit/status';

const optionalNumber = z.preprocess((v) => (v === '' || v === undefined || v === null ? undefined : v), z.coerce.number().positive().optional());

const SafetyLimitsConfigSchema = z.object({
  siteId: siteIdField.default('site-1'),
  cycleMs: z.coerce.number().int().min(10).max(60_000).default(DEFAULT_SAFETY_CONFIG.cycleMs),
  staleCycles: z.coerce.number().int().min(1).max(100).default(DEFAULT_SAFETY_CONFIG.staleCycles),
  capacityWh: optionalNumber,
  /** Per cent of the BMS's own current limits allowed while it reports no cell temperature. */
  unmeasuredDeratingPct: z.preprocess((v) => (v === '' || v === undefined || v === null ? undefined : v),
    z.coerce.number().min(0).max(100).default(DEFAULT_SAFETY_CONFIG.unmeasuredDerating * 100)),
  /** JSON object overriding any LFP default, e.g. {"socMaxPct": 90}. */
  profile: z.string().default(''),
});

interface SafetyLimitsDef extends NodeDef {
  siteId: string;
  cycleMs: string;
  staleCycles: string;
  capacityWh: string;
  unmeasuredDeratingPct: string;
  profile: string;
}

/** The context store that kept the latch in earlier versions (the lifo4 host defines it): carried into the file once. */
const LEGACY_STORE = 'persistent';

const FILL: Record<Envelope['mode'], 'green' | 'yellow' | 'red'> = { NORMAL: 'green', DERATED: 'yellow', SAFE_MODE: 'red', ESTOP: 'red' };
const kw = (w: number): string => `${(w / 1000).toFixed(1)} kW`;

function parseSafetyProfile(json: string, capacityWh: number | undefined): SafetyProfile {
  const overrides: unknown = json.trim() ? JSON.parse(json) : {};
  const profile = LfpProfileSchema.parse({ ...LFP_DEFAULTS, ...(overrides as object) });
  return { ...profile, capacityWh };
}

/** What the last latch write means for the status line, or null when all is well. */
function latchTrouble(event: LatchEvent): string | null {
  if (event.kind === 'write-failed') return `latch not saved (${event.reason})`;
  if (event.kind === 'unreadable') return 'latch file unreadable: latched, reset to release';
  return null;
}

export = function register(RED: NodeAPI): void {
  const contextStores = (RED.settings as { contextStorage?: Record<string, unknown> }).contextStorage ?? {};

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
    const safetyConfig = { ...DEFAULT_SAFETY_CONFIG, cycleMs: cfg.cycleMs, staleCycles: cfg.staleCycles, unmeasuredDerating: cfg.unmeasuredDeratingPct / 100 };
    /** The warning about a missing measurement last logged, so the log says it once, not every cycle. */
    let unmeasured: string | null = null;
    const ctx = node.context();
    const store = latchFileStore(RED.settings.userDir as string | undefined, cfg.siteId);
    const legacy = LEGACY_STORE in contextStores ? EstopLatchSchema.safeParse(ctx.get('estop', LEGACY_STORE)) : null;
    const keeper = new LatchKeeper(store, Date.now(), legacy?.success ? legacy.data : undefined);
    const report = (event: LatchEvent): void => {
      if (event.kind === 'write-failed') {
        node.error(`safety-limits: e-stop latch not saved to ${store.path} (${event.during}): ${event.reason}; the battery stays at 0 W until it is`);
      } else if (event.kind === 'unreadable') {
        node.error(`safety-limits: ${event.reason}; counted as latched until an operator resets it`);
      } else if (event.kind === 'carried') {
        node.warn(`safety-limits: e-stop latch carried from the '${LEGACY_STORE}' context store into ${store.path}`);
        ctx.set('estop', undefined, LEGACY_STORE);
      }
    };
    report(keeper.event);
    let tripped: string[] = [];
    const site = new SiteTelemetry(cfg.siteId);
    let lastEmit = 0;
    let lastRetry = 0;

    /** Reuses the triggering message, so what it carries (e.g. msg.trace, msg._msgid) flows on. */
    const emit = (msg: NodeMessageInFlow | Record<string, unknown> = {}): void => {
      const now = Date.now();
      const result = envelope(site.snapshot, profile, { estop: keeper.estop, tripped, unpersisted: keeper.unpersisted }, now, safetyConfig);
      tripped = result.state.tripped;
      lastEmit = now;
      const e = result.envelope;
      const trouble = latchTrouble(keeper.event);
      const missing = e.alarms.find((a) => a.code === 'TEMPERATURE_UNMEASURED')?.message ?? null;
      if (missing !== unmeasured) {
        if (missing) node.warn(`safety-limits: ${missing}`);
        unmeasured = missing;
      }
      const limits = `${e.mode} · charge ${kw(e.maxChargeW)} · discharge ${kw(e.maxDischargeW)}`;
      node.status(trouble
        ? { fill: 'red', shape: 'dot', text: shorten(`${e.mode} · ${trouble}`) }
        : { fill: FILL[e.mode], shape: e.mode === 'ESTOP' ? 'ring' : 'dot', text: missing ? shorten(`${limits} · no cell temperature: derated`) : limits });
      node.send(Object.assign(msg, { topic: 'envelope', payload: e }));
    };

    const watchdog = setInterval(() => {
      const now = Date.now();
      // A latch whose write failed is written again once per cycle until a write succeeds.
      if (keeper.unpersisted !== null && now - lastRetry >= cfg.cycleMs) {
        lastRetry = now;
        keeper.retry();
        if (keeper.unpersisted === null) {
          node.log(`e-stop latch saved to ${store.path}`);
          emit();
          return;
        }
      }
      // 1.5 cycles: ordinary poll jitter must not add a decision (and a PCS write) of its own.
      if (now - lastEmit >= cfg.cycleMs * 1.5) emit();
    }, Math.max(10, Math.floor(cfg.cycleMs / 4)));

    node.on('input', (msg: NodeMessageInFlow, _send, done) => {
      const cmd = SafetyCommandSchema.safeParse(msg.payload);
      if (cmd.success) {
        // Saved before it reaches the output; an e-stop stops at once even when the save fails,
        // a reset releases only once saved.
        keeper.command(cmd.data, Date.now());
        node.log(`${cmd.data.type} by ${cmd.data.by}: ${keeper.estop.latched ? 'latched' : 'released'}`);
        report(keeper.event);
        emit();
        return done();
      }
      const t = takeTelemetry(site, msg.payload);
      if (t.kind === 'not-telemetry') return done(new Error(`safety-limits: not telemetry nor an e-stop command: ${t.issues}`));
      if (t.kind === 'other-site') return done(otherSiteError('safety-limits', site, t.siteId, 'guards'));
      // Battery telemetry drives the cycle: one envelope, one decision, one write per battery
      // poll. PCS and meter parts only update the snapshot (the watchdog still covers silence).
      if (t.part.battery) emit(msg);
      done();
    });

    node.on('close', () => {
      clearInterval(watchdog);
      keeper.close();
    });
    emit();
  }
  RED.nodes.registerType('safety-limits', SafetyLimitsNode);
};
