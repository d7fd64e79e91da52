// fleet-hub: joins the cloud flow to the cloud's API in the same process, through the hub the host
// hands to the flow (io/fleet-hub.ts, io/host-resources.ts). Its input takes what telemetry-in and
// command-out send: record batches, alarm transitions, site states and command acks, and publishes
// each on the hub (a batch of records or alarms record by record) for the API's realtime channel and alarm rules. It registers the command path: a
// command the API sends leaves on this node's output (wire it to command-out), and its promise
// settles with the final ack that comes back. With a link it also follows the sites' retained plans.
import { randomUUID } from 'node:crypto';
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { z } from 'zod';
import { AlarmSchema, CommandAckSchema, SiteStateSchema, SitePlanSchema, describeIssues, type CommandAck, type TelemetryRecord } from '../../domain/contracts';
import { fleetTopics, siteIdOfTopic } from '../../domain/topics';
import { parseConfig } from '../kit/config';
import { errorStatus, shorten } from '../kit/status';
import { linkOf } from '../mqtt-link/link';
import type { FleetCommand } from '../../io/fleet-hub';
import { hostResources } from '../../io/host-resources';
import { FleetHubConfigSchema, type FleetHubConfig } from './config';

const AlarmBatchSchema = z.union([AlarmSchema, z.array(AlarmSchema)]);

const FINAL: ReadonlySet<CommandAck['outcome']> = new Set(['executed', 'rejected', 'timeout']);

interface Pending {
  resolve: (ack: CommandAck) => void;
  timer: NodeJS.Timeout;
  siteId: string;
}

/**
 * Records come from telemetry-in, which has parsed every one with TelemetryRecordSchema; at
 * thousands of records a second a second full parse here would cost a core's worth of time, so
 * only the shape the hub relies on is checked.
 */
function isRecordBatch(p: unknown): p is TelemetryRecord[] {
  return Array.isArray(p) && p.every((r) => r && typeof r === 'object' && typeof (r as TelemetryRecord).siteId === 'string' && Number.isInteger((r as TelemetryRecord).seq));
}

export = function register(RED: NodeAPI): void {
  function FleetHubNode(this: Node, def: NodeDef & Record<string, unknown>): void {
    RED.nodes.createNode(this, def);
    const node = this;
    let cfg: FleetHubConfig;
    try {
      cfg = parseConfig(FleetHubConfigSchema, 'fleet-hub', def);
    } catch (err) {
      node.status(errorStatus(err));
      node.error(err);
      return;
    }
    const hub = hostResources(RED.settings).fleetHub;
    if (!hub) {
      const err = new Error('fleet-hub: this Node-RED has no fleet hub; the node joins a flow to the API of the lifo4 cloud runtime');
      node.status(errorStatus(err));
      node.error(err);
      return;
    }
    const stats = { records: 0, alarms: 0, states: 0, acks: 0, plans: 0, commands: 0 };
    (node as unknown as { stats: typeof stats }).stats = stats;
    const show = () => node.status({ fill: 'green', shape: 'dot', text: shorten(`${stats.records} records · ${stats.alarms} alarms · ${stats.commands} commands`) });


    const pending = new Map<string, Pending>();
    hub.setCommandSender((command: FleetCommand) => new Promise<CommandAck>((resolve) => {
      const id = command.id ?? randomUUID();
      const timer = setTimeout(() => {
        pending.delete(id);
        resolve({ v: 1, id, siteId: command.siteId, outcome: 'timeout', reason: `no final answer within ${cfg.commandTimeoutS} s (is fleet-hub wired to a command-out node?)`, ts: Date.now() });
      }, cfg.commandTimeoutS * 1000);
      pending.set(id, { resolve, timer, siteId: command.siteId });
      stats.commands += 1;
      node.send({ topic: 'command', payload: { siteId: command.siteId, body: command.body, by: command.by, role: command.role, expiresInS: command.expiresInS, id } });
      show();
    }));

    let unsubscribePlans: (() => void) | null = null;
    if (cfg.link) {
      const link = linkOf(RED, cfg.link);
      if (link instanceof Error) node.error(link);
      else {
        unsubscribePlans = link.subscribe(fleetTopics.plan, 1, (topic, payload) => {
          let json: unknown;
          try {
            json = JSON.parse(payload.toString('utf8'));
          } catch {
            json = undefined;
          }
          const p = SitePlanSchema.safeParse(json);
          if (!p.success || p.data.siteId !== siteIdOfTopic(topic)) {
            node.warn(`fleet-hub: dropped a plan on ${topic}: ${p.success ? 'site id differs from the topic' : describeIssues(p.error)}`);
            return;
          }
          stats.plans += 1;
          hub.emit('plan', { siteId: p.data.siteId, plan: p.data.plan });
        });
      }
    }

    node.on('input', (msg: NodeMessageInFlow, _send, done: (err?: Error) => void) => {
      const topic = typeof msg.topic === 'string' ? msg.topic : '';
      if (topic.endsWith('/telemetry')) {
        if (!isRecordBatch(msg.payload)) return done(new Error('fleet-hub: a telemetry message must carry telemetry-in\'s array of records'));
        for (const r of msg.payload) hub.emit('record', r);
        stats.records += msg.payload.length;
      } else if (topic.endsWith('/alarm')) {
        // telemetry-in sends the alarms of a batch as one array; other nodes may send one alarm.
        const a = AlarmBatchSchema.safeParse(msg.payload);
        if (!a.success) return done(new Error(`fleet-hub: bad alarm: ${describeIssues(a.error)}`));
        const alarms = Array.isArray(a.data) ? a.data : [a.data];
        if (alarms.some((x) => !x.siteId)) return done(new Error('fleet-hub: bad alarm: no siteId'));
        stats.alarms += alarms.length;
        for (const x of alarms) hub.emit('alarm', { ...x, siteId: x.siteId! });
      } else if (topic.endsWith('/state')) {
        const s = SiteStateSchema.safeParse(msg.payload);
        if (!s.success) return done(new Error(`fleet-hub: bad site state: ${describeIssues(s.error)}`));
        stats.states += 1;
        hub.emit('state', s.data);
      } else if (topic.endsWith('/cmd/ack')) {
        const a = CommandAckSchema.safeParse(msg.payload);
        if (!a.success) return done(new Error(`fleet-hub: bad command ack: ${describeIssues(a.error)}`));
        stats.acks += 1;
        hub.emit('ack', a.data);
        const p = pending.get(a.data.id);
        if (p && p.siteId === a.data.siteId && FINAL.has(a.data.outcome)) {
          clearTimeout(p.timer);
          pending.delete(a.data.id);
          p.resolve(a.data);
        }
      } else {
        return done(new Error(`fleet-hub: unknown message topic '${topic}' (expected lifo4/<site>/telemetry, /alarm, /state or /cmd/ack)`));
      }
      show();
      done();
    });

    node.on('close', () => {
      hub.setCommandSender(null);
      unsubscribePlans?.();
      for (const [id, p] of pending) {
        clearTimeout(p.timer);
        p.resolve({ v: 1, id, siteId: p.siteId, outcome: 'timeout', reason: 'the cloud flow was stopped', ts: Date.now() });
      }
      pending.clear();
    });
  }
  RED.nodes.registerType('fleet-hub', FleetHubNode);
};
