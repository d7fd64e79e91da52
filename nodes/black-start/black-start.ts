// black-start: grid loss, islanding, staged load pick-up and resynchronisation (level 2, GRID).
// Telemetry (battery, PCS, meter) and optionally the safety envelope come in; every `interval` the
// node reads the PCS's islanding registers (vendor model 64900) through the shared Modbus
// connection, steps the pure state machine (domain/black-start/state-machine.ts) and writes
// its commands back through the same connection, as pcs-setpoint does. Outputs: 1 the level-2
// Request for the arbiter, 2 the transition log, 3 the commands written and how they went.
// The site's settings document (msg.topic 'site-settings') may switch black start off: it then
// stays connected to the grid and takes no new grid loss, but an island in progress is seen through
// to its resynchronisation (switching off must not drop a site's loads mid-island).
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { describeIssues, EnvelopeSchema, LEVELS, type Envelope, type Request } from '../../domain/contracts';
import { EffectiveSettingsSchema, SITE_SETTINGS_MSG_TOPIC } from '../../domain/site-settings/settings';
import { ISLAND_MODEL, islandModel } from '../../domain/black-start/island-models';
import { blackStartInput, islandFeedback } from '../../domain/black-start/inputs';
import { islandWrites } from '../../domain/black-start/island-writes';
import { INITIAL_BLACK_START_STATE, stepBlackStart, type BlackStartState, type IslandCommand, type Phase } from '../../domain/black-start/state-machine';
import { decodeModel } from '../../domain/sunspec/codec';
import { discoverModels, readBlock, type ModelLocation } from '../../domain/sunspec/discovery';
import { SiteTelemetry } from '../../domain/telemetry-snapshot';
import { otherSiteError, takeTelemetry } from '../kit/site-telemetry';
import { configAndTransport } from '../kit/connection';
import { errorStatus, errorText, healthStatus, shorten } from '../kit/status';
import { unitReaders } from '../../io/modbus/unit-readers';
import { BlackStartNodeConfigSchema, machineConfig, type BlackStartNodeConfig } from './config';

const SOURCE = 'black-start';
const FILL: Record<Phase, 'green' | 'yellow' | 'red' | 'blue'> = {
  GRID_CONNECTED: 'green', GRID_LOST: 'red', ISOLATED: 'red', GRID_FORMING: 'yellow', PICKUP: 'yellow', ISLANDED: 'blue', RESYNC: 'yellow',
};

export = function register(RED: NodeAPI): void {
  function BlackStart(this: Node, def: NodeDef & Record<string, unknown>): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const setup = configAndTransport(RED, node, BlackStartNodeConfigSchema, 'black-start', def);
    if (!setup) return;
    const config: BlackStartNodeConfig = setup.config;
    const transport = setup.transport;
    const read = unitReaders(transport, config.unitId).holding;
    const machine = machineConfig(config);
    const def64900 = islandModel(ISLAND_MODEL);
    const site = new SiteTelemetry(config.siteId);
    let envelope: Envelope | null = null;
    let state: BlackStartState = INITIAL_BLACK_START_STATE;
    let location: ModelLocation | null = null;
    let busy = false;
    let closing = false;
    let lastError: string | null = null;
    /** Off only by a settings document; a node without one runs as configured (always on). */
    let enabled = true;

    async function islandLocation(): Promise<ModelLocation> {
      if (location) return location;
      const { models } = await discoverModels(read);
      const loc = models.find((m) => m.id === ISLAND_MODEL);
      if (!loc) throw new Error(`unit ${config.unitId} has no islanding controls (vendor model ${ISLAND_MODEL}): models [${models.map((m) => m.id).join(', ')}]`);
      location = loc;
      return loc;
    }

    async function execute(loc: ModelLocation, cmd: IslandCommand): Promise<{ ok: boolean; error?: string }> {
      try {
        for (const w of islandWrites(def64900, cmd)) await transport.writeRegisters(config.unitId, loc.address + w.offset, w.values);
        return { ok: true };
      } catch (err) {
        return { ok: false, error: errorText(err) };
      }
    }

    async function tick(): Promise<void> {
      const now = Date.now();
      if (!enabled && state.phase === 'GRID_CONNECTED') {
        node.status({ fill: 'grey', shape: 'ring', text: 'disabled (site settings)' });
        return;
      }
      let loc: ModelLocation | null = null;
      let feedback = null;
      try {
        loc = await islandLocation();
        feedback = islandFeedback(decodeModel(def64900, await readBlock(read, loc.address, loc.length + 2), loc.address));
        lastError = null;
      } catch (err) {
        location = null;
        // Once per distinct error: a PCS that is gone must not flood the log every interval.
        if (errorText(err) !== lastError) node.warn(`islanding registers unreadable: ${errorText(err)}`);
        lastError = errorText(err);
      }
      const result = stepBlackStart(state, blackStartInput(now, site.snapshot, feedback, envelope, config.staleMs), machine);
      state = result.state;
      const out: (NodeMessageInFlow | null)[][] = [[], [], []];
      if (result.request) {
        const request: Request = {
          level: LEVELS.GRID, source: SOURCE, powerW: result.request.powerW, ts: now,
          expiresAt: now + config.requestTtlS * 1000, id: `${SOURCE}-${state.phase}`, reason: result.request.reason,
        };
        out[0]?.push({ _msgid: RED.util.generateId(), topic: 'request', payload: request });
      }
      for (const t of result.transitions) {
        node.log(`${t.from} -> ${t.to}: ${t.reason}`);
        out[1]?.push({ _msgid: RED.util.generateId(), topic: 'black-start/transition', payload: { siteId: config.siteId, ...t } });
      }
      for (const cmd of result.commands) {
        const outcome = loc ? await execute(loc, cmd) : { ok: false, error: 'the islanding registers are not reachable' };
        if (!outcome.ok) node.warn(`${cmd.what} failed: ${outcome.error ?? ''}`);
        out[2]?.push({ _msgid: RED.util.generateId(), topic: 'black-start/command', payload: { siteId: config.siteId, ts: now, ...cmd, ...outcome } });
      }
      node.send(out.map((msgs) => (msgs.length ? msgs : null)) as unknown as NodeMessageInFlow[]);
      const health = healthStatus(transport.health());
      node.status(lastError ? (health ?? errorStatus(lastError)) : { fill: FILL[state.phase], shape: 'dot', text: shorten(result.status) });
    }

    const timer = setInterval(() => {
      if (busy || closing) return;
      busy = true;
      tick().catch((err: unknown) => node.error(err)).finally(() => { busy = false; });
    }, config.interval);

    node.on('input', (msg, _send, done) => {
      if (msg.topic === SITE_SETTINGS_MSG_TOPIC) {
        const e = EffectiveSettingsSchema.safeParse(msg.payload);
        if (!e.success) return done(new Error(`black-start: bad site settings: ${describeIssues(e.error)}`));
        enabled = e.data.settings?.blackStartEnabled ?? true;
        return done();
      }
      const t = takeTelemetry(site, msg.payload);
      if (t.kind === 'merged') return done();
      if (t.kind === 'other-site') return done(otherSiteError('black-start', site, t.siteId));
      const e = EnvelopeSchema.safeParse(msg.payload);
      if (e.success) {
        envelope = e.data;
        return done();
      }
      done(new Error('msg.payload must be Telemetry (battery, pcs or meter) or a safety Envelope: ignored'));
    });

    node.on('close', (done: () => void) => {
      closing = true;
      clearInterval(timer);
      done();
    });
  }
  RED.nodes.registerType('black-start', BlackStart as unknown as (this: Node, def: NodeDef) => void);
};
