// Writes the PCS active-power setpoint and keeps it alive with a heartbeat, so that the PCS's own
// revert timer brings it back to 0 W only when this controller dies or stops commanding
// (docs/ARCHITECTURE.md, "One measurement"). The PCS is a SunSpec 704 device, or any device whose
// JSON profile has a control section (mode registers, power registers, the device's own timeout):
// targets.ts gives both the same shape, so both are clamped, refreshed, refused and released alike.
// This node clamps to the PCS ratings and its own limits only: it is NOT the safety envelope.
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { z } from 'zod';
import { parseProfile, type Profile } from '../../domain/sunspec/profile';
import { configAndTransport } from '../kit/connection';
import { errorStatus, errorText, healthStatus, shorten } from '../kit/status';
import { unitReaders } from '../../io/modbus/unit-readers';
import { hostMetrics } from '../../io/host-resources';
import type { ModbusTransport, TransportHealth } from '../../io/modbus/transport';
import { PcsSetpointConfigSchema, type PcsSetpointConfig } from './config';
import { deployedPathErrors } from './path-check';
import { clampSetpoint } from './setpoint';
import { profileTarget, sunspecTarget, type PcsTarget, type TargetWrite } from './targets';

interface Pcs extends PcsTarget {
  /** The arming writes (revert timer, mode registers) go out once per discovery. */
  armed: boolean;
}

const WATTS = 'msg.payload must be a number of W (+ = discharge) or an arbiter decision {setpointW}';
/** A bare number of W, or the arbiter's decision, whose setpointW it writes. */
const PowerSchema = z.union([
  z.number({ error: WATTS }).finite('msg.payload must be a finite number of W'),
  z.object({ setpointW: z.number().finite() }).transform((d) => d.setpointW),
], { error: WATTS });

export = function (RED: NodeAPI): void {
  function PcsSetpoint(this: Node, def: NodeDef & Record<string, unknown>): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const setup = configAndTransport(RED, node, PcsSetpointConfigSchema, 'pcs-setpoint', def);
    if (!setup) return;
    const config: PcsSetpointConfig = setup.config;
    const transport: ModbusTransport = setup.transport;
    let profile: Profile | null = null;
    if (config.profile.trim()) {
      try {
        profile = parseProfile(config.profile);
        if (!profile.control) throw new Error(`profile ${profile.name} has no control section: it can be read, not commanded`);
      } catch (err) {
        // A bad profile is a configuration error: say so and write nothing, ever.
        node.error(err);
        node.status(errorStatus(err));
        return;
      }
    }
    const metrics = hostMetrics(RED.settings);
    let pcs: Pcs | null = null;
    let heartbeat: NodeJS.Timeout | null = null;
    let lastInputAt = 0;
    let command: { writes: TargetWrite[]; watts: number } | null = null;
    let closing = false;
    let heartbeatError: string | null = null;
    /** When WSet was last written (command or heartbeat), ms. */
    let lastWriteAt = 0;
    // Command writes and heartbeats must not interleave: one chain of register writes.
    let chain: Promise<unknown> = Promise.resolve();
    // Flow safety check (domain/flow-lint): on a path that bypasses safety-limits and the
    // arbiter this node writes nothing. Checked now (the deployed config is set before nodes are
    // built) and again whenever flows start, because a "modified nodes" deploy that rewires only
    // the nodes upstream does not rebuild this one.
    const canvasId = typeof def._alias === 'string' ? def._alias : node.id;
    let refusal: string | null = null;
    const checkPath = (): void => {
      const errors = deployedPathErrors(RED, canvasId);
      refusal = errors.length > 0 ? `${errors[0]}${errors.length > 1 ? ` (+${errors.length - 1} more)` : ''}` : null;
      if (refusal) {
        // Stop commanding: without heartbeats the PCS reverts to 0 W after its revert timeout.
        stopHeartbeat();
        command = null;
        node.status({ fill: 'red', shape: 'dot', text: shorten(`refused: unsafe flow: ${errors[0] ?? ''}`) });
        node.error(`refusing to write the PCS: ${refusal}`);
      }
    };
    const onFlowsStarted = (): void => {
      const was = refusal;
      checkPath();
      if (was && !refusal) node.status({});
    };
    checkPath();
    RED.events.on('flows:started', onFlowsStarted);

    const onHealth = (h: TransportHealth): void => {
      if (h.state !== 'connected') {
        pcs = null; // re-discover on the next connection: it may be another device now
        const s = healthStatus(h);
        if (s && !refusal) node.status(s);
      }
    };
    transport.on('health', onHealth);

    async function discover(): Promise<Pcs> {
      if (pcs) return pcs;
      const limits = { maxChargeW: config.maxChargeW, maxDischargeW: config.maxDischargeW };
      const target = profile
        ? await profileTarget((unit) => unitReaders(transport, unit ?? config.unitId), profile, config.unitId, config.revertTimeout, limits)
        : await sunspecTarget(unitReaders(transport, config.unitId).holding, config.unitId, config.revertTimeout, limits);
      pcs = { ...target, armed: false };
      if (!Number.isFinite(pcs.limits.maxChargeW) || !Number.isFinite(pcs.limits.maxDischargeW)) {
        node.warn('the PCS publishes no power ratings (702) and maxChargeW / maxDischargeW are not set: setpoints are not limited');
      }
      return pcs;
    }

    const write = (w: TargetWrite): Promise<void> =>
      (w.function === 6 && w.values.length === 1 ? transport.writeRegister(w.unitId, w.address, w.values[0] as number) : transport.writeRegisters(w.unitId, w.address, w.values)).catch((err: unknown) => {
        throw new Error(`writing ${w.what} failed: ${errorText(err)}`);
      });
    const writeAll = async (ws: readonly TargetWrite[]): Promise<void> => {
      for (const w of ws) await write(w);
    };

    function stopHeartbeat(): void {
      if (heartbeat) clearInterval(heartbeat);
      heartbeat = null;
    }

    function beat(): void {
      const p = pcs;
      if (!command || closing) return;
      if (Date.now() - lastInputAt > config.revertTimeout * 1000) {
        // No new command for longer than the revert time: the command is stale. Stop refreshing
        // it and let the PCS revert to 0 W by itself.
        stopHeartbeat();
        node.status({ fill: 'yellow', shape: 'ring', text: `stale: no command for ${config.revertTimeout} s, PCS reverts to 0 W` });
        return;
      }
      if (!p) return;
      // A command written within the last heartbeat already refreshed the revert timer: a timer
      // tick that jitter put just before the next command would only double the writes.
      if (Date.now() - lastWriteAt < config.heartbeat) return;
      const writes = command.writes;
      chain = chain
        .then(() => writeAll(writes))
        .then(() => {
          heartbeatError = null;
          lastWriteAt = Date.now();
        })
        .catch((err: unknown) => {
          node.status(healthStatus(transport.health()) ?? errorStatus(err));
          // Once per distinct error: a PCS that is gone must not flood the log every heartbeat.
          if (errorText(err) !== heartbeatError) node.error(err);
          heartbeatError = errorText(err);
        });
    }

    node.on('input', (msg, send, done) => {
      if (refusal) {
        node.status({ fill: 'red', shape: 'dot', text: shorten(`refused: unsafe flow: ${refusal}`) });
        return done(new Error(`refused, nothing written: ${refusal}`));
      }
      const parsed = PowerSchema.safeParse(msg.payload);
      if (!parsed.success) {
        const shown = typeof msg.payload === 'string' ? `"${shorten(msg.payload, 40)}"` : String(msg.payload);
        const err = new Error(`${parsed.error.issues[0]?.message ?? 'bad payload'}, got ${shown}: nothing written`);
        node.status(errorStatus(err));
        return done(err);
      }
      const requested = parsed.data;
      lastInputAt = Date.now();
      chain = chain
        .then(async () => {
          const p = await discover();
          const clamped = clampSetpoint(requested, p.limits);
          const cmd = p.command(clamped);
          if (!p.armed) {
            await writeAll(p.arm);
            p.armed = true;
          }
          await writeAll(cmd.writes);
          lastWriteAt = Date.now();
          command = cmd;
          // The control cycle ends here: from the battery poll that led to this decision (msg.trace,
          // nodes/kit/poller.ts) to the setpoint acknowledged by the PCS.
          const pollStartedAt = (msg as { trace?: { pollStartedAt?: unknown } }).trace?.pollStartedAt;
          if (typeof pollStartedAt === 'number') metrics.controlCycle(performance.now() - pollStartedAt);
          metrics.setpointWritten(cmd.watts);
          stopHeartbeat();
          if (!closing) heartbeat = setInterval(beat, config.heartbeat);
          const limited = cmd.watts !== requested ? ` (limited by ${requested > 0 ? p.limits.source.discharge : p.limits.source.charge})` : '';
          node.status({ fill: 'green', shape: 'dot', text: shorten(`${(cmd.watts / 1000).toFixed(2)} kW${limited}`) });
          const out = msg as NodeMessage;
          out.payload = { setpoint: requested, written: cmd.watts, ts: Date.now() };
          send(out);
          done();
        })
        .catch((err: unknown) => {
          const e = err instanceof Error ? err : new Error(errorText(err));
          pcs = null;
          node.status(healthStatus(transport.health()) ?? errorStatus(e));
          done(e);
        });
    });

    node.on('close', (done: () => void) => {
      closing = true;
      RED.events.removeListener('flows:started', onFlowsStarted);
      stopHeartbeat();
      transport.off('health', onHealth);
      const p = pcs;
      if (!p || !command) return done();
      // Best effort: leave the PCS at 0 W rather than wait for its revert timer.
      const timer = setTimeout(done, 2000);
      writeAll(p.release)
        .catch((err: unknown) => node.warn(`could not write 0 W on close: ${errorText(err)}`))
        .finally(() => { clearTimeout(timer); done(); });
    });
  }
  RED.nodes.registerType('pcs-setpoint', PcsSetpoint as unknown as (this: Node, def: NodeDef) => void);
};
