// command-in: remote commands for this site from lifo4/<siteId>/cmd. Each is checked (size, schema,
// site, HMAC signature with the site key, validity window, replay: domain/commands/check.ts) and
// answered on lifo4/<siteId>/cmd/ack: 'rejected' with the reason, or 'accepted' and sent on as an
// OperatorCommand (output 1, to the operator-command node); 'executed' follows when operator-command
// accepted an e-stop, reset or clear, or when a decision names a setpoint's id as the winning request.
// A 'settings' command (the site's strategy settings document) goes to output 3, to the
// site-settings node, whose ack (applied or refused with the reasons) makes it 'executed' or 'rejected'.
// Input: operator-command's and site-settings' acks (msg.topic 'ack') and the arbiter's decisions (msg.topic 'decision').
// Output 2: every CommandAck this node publishes.
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { z } from 'zod';
import { CommandAckSchema, DecisionSchema, type CommandAck } from '../../domain/contracts';
import { checkCommand, REJECT_CODES, type RejectCode } from '../../domain/commands/check';
import { executedDetails, executedWhen, toOperatorCommand } from '../../domain/commands/operator';
import { parseKey, verifyCommand } from '../../io/command-signature';
import { topics } from '../../domain/topics';
import { parseConfig } from '../kit/config';
import { errorStatus, shorten } from '../kit/status';
import { linkOf, type MqttLink } from '../mqtt-link/link';
import { siteBufferPath } from '../../io/buffer/location';
import { CommandLedger } from '../../io/buffer/command-ledger';
import { CommandInConfigSchema } from './config';

/** An ack from operator-command or, with `from` 'site-settings', from the site-settings node. */
const OperatorAckSchema = z.object({ id: z.string().nullable().optional(), status: z.enum(['accepted', 'rejected']), reason: z.string().optional(), from: z.string().max(64).optional() });
const DecisionRefSchema = DecisionSchema.pick({ requestId: true, requestedW: true, limit: true });

interface Pending {
  when: 'decision' | 'accepted';
  /** Forgotten after this (ms): a setpoint that never wins gets no 'executed' (the cloud times it out). */
  until: number;
}

/** How long after its expiry a command may still be reported executed. */
const PENDING_GRACE_MS = 60_000;

export = function register(RED: NodeAPI): void {
  function CommandInNode(this: Node<{ key: unknown }>, def: NodeDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    let link: MqttLink;
    let siteId: string;
    let key: Buffer;
    let ledger: CommandLedger;
    let config: z.infer<typeof CommandInConfigSchema>;
    try {
      config = parseConfig(CommandInConfigSchema, 'command-in', def);
      const l = linkOf(RED, config.link);
      if (l instanceof Error) throw l;
      link = l;
      siteId = config.siteId || link.siteId;
      if (!siteId) throw new Error('command-in: no site id (set it here or on the mqtt-link)');
      const keyText = node.credentials?.key;
      if (typeof keyText !== 'string' || !keyText) throw new Error('command-in: no site key: every command would be refused');
      key = parseKey(keyText);
      ledger = new CommandLedger(siteBufferPath(config.dir, RED.settings.userDir as string | undefined, siteId));
    } catch (err) {
      node.error(err);
      node.status(errorStatus(err));
      return;
    }

    const rejections = Object.fromEntries(REJECT_CODES.map((c) => [c, 0])) as Record<RejectCode, number>;
    let accepted = 0;
    const pending = new Map<string, Pending>();

    const showStatus = (): void => {
      const bad = REJECT_CODES.filter((c) => rejections[c] > 0).map((c) => `${c} ${rejections[c]}`);
      const text = `${link.connected ? '' : 'offline · '}accepted ${accepted}${bad.length ? ` · rejected: ${bad.join(', ')}` : ''}`;
      node.status({ fill: bad.length ? 'yellow' : link.connected ? 'green' : 'red', shape: link.connected ? 'dot' : 'ring', text: shorten(text) });
    };

    const publishAck = (id: string, outcome: CommandAck['outcome'], reason?: string, details: Partial<CommandAck> = {}): void => {
      const ack = CommandAckSchema.parse({ v: 1, id, siteId, outcome, ts: Date.now(), ...details, ...(reason !== undefined && { reason: reason.slice(0, 500) }) });
      node.send([null, { topic: topics.cmdAck(siteId), payload: ack }, null]);
      link.publish(topics.cmdAck(siteId), JSON.stringify(ack), { qos: 1 }).catch((err: Error) => node.warn(`cmd/ack ${id} ${outcome} not published: ${err.message}`));
    };

    const prune = (now: number): void => {
      for (const [id, p] of pending) if (p.until < now) pending.delete(id);
    };

    const unsubscribe = link.subscribe(topics.cmd(siteId), 1, (_topic, payload) => {
      const now = Date.now();
      prune(now);
      const check = checkCommand(payload, { siteId, verify: (cmd) => verifyCommand(cmd, key), now, clockSkewMs: config.clockSkewS * 1000, claim: (id, until) => ledger.claim(id, until) });
      if (!check.ok) {
        rejections[check.code]++;
        node.warn(`command-in: command ${check.id ?? '(no id)'} rejected: ${check.code}: ${check.reason}`);
        if (check.id) publishAck(check.id, 'rejected', `${check.code}: ${check.reason}`);
        showStatus();
        return;
      }
      const cmd = check.cmd;
      accepted++;
      const body = cmd.body;
      if (body.type === 'settings') {
        // Executed once site-settings has checked, applied and kept the document (or rejected with its reasons).
        pending.set(cmd.id, { when: 'accepted', until: cmd.expiresAt + PENDING_GRACE_MS });
        publishAck(cmd.id, 'accepted');
        node.send([null, null, { topic: 'settings', payload: { id: cmd.id, by: cmd.by, role: cmd.role, settings: body.settings } }]);
        showStatus();
        return;
      }
      const op = toOperatorCommand({ ...cmd, body }, config.standbyS);
      pending.set(cmd.id, { when: executedWhen(op), until: cmd.expiresAt + PENDING_GRACE_MS });
      publishAck(cmd.id, 'accepted');
      node.send([{ topic: 'command', payload: op }, null, null]);
      showStatus();
    });
    const onLinkChange = (): void => showStatus();
    link.on('connect', onLinkChange);
    link.on('offline', onLinkChange);
    showStatus();

    node.on('input', (msg: NodeMessageInFlow, _send, done) => {
      if (msg.topic === 'ack') {
        const a = OperatorAckSchema.safeParse(msg.payload);
        const p = a.success && a.data.id ? pending.get(a.data.id) : undefined;
        if (a.success && a.data.id && p) {
          if (a.data.status === 'rejected') {
            pending.delete(a.data.id);
            publishAck(a.data.id, 'rejected', `${a.data.from ?? 'operator-command'}: ${a.data.reason ?? 'rejected'}`);
          } else if (p.when === 'accepted') {
            pending.delete(a.data.id);
            publishAck(a.data.id, 'executed', a.data.from === 'site-settings' ? a.data.reason : undefined);
          }
        }
      } else if (msg.topic === 'decision') {
        const d = DecisionRefSchema.safeParse(msg.payload);
        const id = d.success ? d.data.requestId : null;
        if (d.success && id && pending.get(id)?.when === 'decision') {
          pending.delete(id);
          // Says what is really applied: the value the setpoint settles at and the limit that holds it.
          const details = executedDetails({ requestedW: d.data.requestedW, limit: d.data.limit ?? null });
          publishAck(id, 'executed', details.reason, details);
        }
      }
      // Anything else (other nodes' acks and decisions without a command of ours) is not for us.
      done();
    });

    node.on('close', (done: () => void) => {
      unsubscribe();
      link.removeListener('connect', onLinkChange);
      link.removeListener('offline', onLinkChange);
      ledger.close();
      done();
    });
  }
  RED.nodes.registerType('command-in', CommandInNode, { credentials: { key: { type: 'password' } } });
};
