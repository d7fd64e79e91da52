// command-out: the cloud's side of remote commands. Each input becomes a SignedCommand (HMAC-SHA256
// with the site's key, io/command-signature.ts) published with QoS 1 on lifo4/<siteId>/cmd;
// the site's acks on lifo4/<siteId>/cmd/ack are matched to it by id and sent on, each as it
// arrives, in a copy of the original message (so an http-in request can still be answered).
// 'accepted' is followed by 'executed' or 'rejected'; when nothing (more) comes within ackTimeoutS,
// the node sends a 'timeout' ack itself. Acks are not subscribed shared: every cloud runtime sees
// every ack and matches those of the commands it sent.
import { randomUUID } from 'node:crypto';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { CommandAckSchema, describeIssues, type CommandAck, type SignedCommand } from '../../domain/contracts';
import { signCommand } from '../../io/command-signature';
import { fleetTopics, siteIdOfTopic, topics } from '../../domain/topics';
import { parseConfig } from '../kit/config';
import { errorStatus, errorText, shorten } from '../kit/status';
import { linkOf, type MqttLink } from '../mqtt-link/link';
import { CommandOutConfigSchema, CommandRequestSchema, loadCommandKeys, type CommandOutConfig } from './config';

type Credentials = { keys?: string };

interface Pending {
  msg: NodeMessageInFlow;
  command: SignedCommand;
  accepted: boolean;
  timer?: NodeJS.Timeout;
}

export = function register(RED: NodeAPI): void {
  function CommandOutNode(this: Node<Credentials>, def: NodeDef & Record<string, unknown>): void {
    RED.nodes.createNode(this, def);
    const node = this;
    let cfg: CommandOutConfig;
    let link: MqttLink;
    let keys: Map<string, Buffer>;
    try {
      cfg = parseConfig(CommandOutConfigSchema, 'command-out', def);
      keys = loadCommandKeys(cfg.keysFile, node.credentials?.keys);
      const l = linkOf(RED, cfg.link);
      if (l instanceof Error) throw l;
      link = l;
    } catch (err) {
      node.status(errorStatus(err));
      node.error(err);
      return;
    }
    const stats = { sent: 0, acks: 0, timeouts: 0, unmatched: 0, badAcks: 0 };
    (node as unknown as { stats: typeof stats }).stats = stats;
    const pending = new Map<string, Pending>();
    const timeoutMs = cfg.ackTimeoutS * 1000;

    const show = (): void => {
      node.status({
        fill: link.connected ? 'green' : 'yellow', shape: pending.size ? 'ring' : 'dot',
        text: shorten(`${link.connected ? '' : 'broker offline · '}${stats.sent} sent · ${pending.size} waiting · ${stats.timeouts} timeouts`),
      });
    };

    const emit = (p: Pending, ack: CommandAck): void => {
      const out = RED.util.cloneMessage(p.msg) as NodeMessage & Record<string, unknown>;
      out.topic = topics.cmdAck(ack.siteId);
      out.payload = ack;
      out.command = p.command;
      node.send(out);
    };

    const arm = (p: Pending): NodeJS.Timeout =>
      setTimeout(() => {
        pending.delete(p.command.id);
        stats.timeouts += 1;
        const reason = p.accepted ? `accepted, but not executed within ${cfg.ackTimeoutS} s` : `no ack within ${cfg.ackTimeoutS} s`;
        emit(p, { v: 1, id: p.command.id, siteId: p.command.siteId, outcome: 'timeout', reason, ts: Date.now() });
        show();
      }, timeoutMs);

    const onAck = (topic: string, payload: Buffer): void => {
      let json: unknown;
      try {
        json = JSON.parse(payload.toString('utf8'));
      } catch {
        json = undefined;
      }
      const a = CommandAckSchema.safeParse(json);
      if (!a.success || a.data.siteId !== siteIdOfTopic(topic) || a.data.outcome === 'timeout') {
        stats.badAcks += 1;
        return;
      }
      const p = pending.get(a.data.id);
      // Another runtime's command, or one already settled (a late or repeated ack).
      if (!p || p.command.siteId !== a.data.siteId) {
        stats.unmatched += 1;
        return;
      }
      stats.acks += 1;
      clearTimeout(p.timer);
      if (a.data.outcome === 'accepted') {
        p.accepted = true;
        p.timer = arm(p);
      } else {
        pending.delete(p.command.id);
      }
      emit(p, a.data);
      show();
    };
    const unsubscribe = link.subscribe(fleetTopics.cmdAck, 1, onAck);
    const onLink = (): void => show();
    link.on('connect', onLink);
    link.on('offline', onLink);
    show();

    node.on('input', (msg: NodeMessageInFlow, _send, done: (err?: Error) => void) => {
      const r = CommandRequestSchema.safeParse(msg.payload);
      if (!r.success) return done(new Error(`command-out: bad command: ${describeIssues(r.error)}`));
      const req = r.data;
      // A site added since the keys were read: read them again once.
      if (!keys.has(req.siteId) && cfg.keysFile) {
        try {
          keys = loadCommandKeys(cfg.keysFile, node.credentials?.keys);
        } catch (err) {
          return done(new Error(`command-out: ${errorText(err)}`));
        }
      }
      const key = keys.get(req.siteId);
      if (!key) return done(new Error(`command-out: no key for site ${req.siteId}`));
      const id = req.id ?? randomUUID();
      if (pending.has(id)) return done(new Error(`command-out: command ${id} is already waiting for its ack`));
      const now = Date.now();
      const command = signCommand({
        v: 1, id, siteId: req.siteId, issuedAt: now, expiresAt: now + (req.expiresInS ?? cfg.expiresInS) * 1000, by: req.by, role: req.role, body: req.body,
      }, key);
      const p: Pending = { msg, command, accepted: false };
      p.timer = arm(p);
      pending.set(id, p);
      stats.sent += 1;
      show();
      link.publish(topics.cmd(req.siteId), JSON.stringify(command), { qos: 1 }).then(
        () => done(),
        // The timeout answers the caller; the error goes to the log and Catch nodes.
        (err: unknown) => done(new Error(`command-out: publishing ${id}: ${errorText(err)}`)),
      );
    });

    node.on('close', () => {
      unsubscribe();
      link.removeListener('connect', onLink);
      link.removeListener('offline', onLink);
      for (const p of pending.values()) clearTimeout(p.timer);
      pending.clear();
    });
  }

  RED.nodes.registerType('command-out', CommandOutNode as unknown as (this: Node, def: NodeDef) => void, {
    credentials: { keys: { type: 'password' } },
  });
};
