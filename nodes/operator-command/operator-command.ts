// operator-command: a person's command becomes a level-3 request with an expiry (output 1, to the
// arbiter), an e-stop or reset for the safety layer (output 2, to safety-limits), and always an
// acknowledgement saying what became of it (output 3). A reset (with the choice whether automatic
// operation resumes) and a clear that resumes also go to the arbiter as a restart notice (output 1).
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { z } from 'zod';
import { fromOperatorCommand } from '../../domain/arbiter/operator';
import { describeIssues, HTTP_PRINCIPAL_KEY, HttpPrincipalSchema, OperatorCommandSchema } from '../../domain/contracts';
import { parseConfig } from '../kit/config';
import { errorStatus } from '../kit/status';

const OperatorCommandConfigSchema = z.object({
  source: z.string().min(1).default('operator'),
  durationS: z.coerce.number().positive().max(86_400).default(900),
});

interface OperatorCommandDef extends NodeDef {
  source: string;
  durationS: string;
}

export = function register(RED: NodeAPI): void {
  function OperatorCommandNode(this: Node, def: OperatorCommandDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    let config: z.infer<typeof OperatorCommandConfigSchema>;
    try {
      config = parseConfig(OperatorCommandConfigSchema, 'operator-command', def);
    } catch (err) {
      node.status(errorStatus(err));
      node.error(err);
      return;
    }

    node.on('input', (msg: NodeMessageInFlow, send, done) => {
      // Behind the lifo4 host the request's authenticated user speaks, never the body: its `by` and
      // `role` are replaced. In a stock Node-RED (no principal) the payload's own are used.
      const principal = HttpPrincipalSchema.safeParse((msg.req as Record<string, unknown> | undefined)?.[HTTP_PRINCIPAL_KEY]);
      const raw = principal.success && msg.payload && typeof msg.payload === 'object' && !Array.isArray(msg.payload)
        ? { ...msg.payload, by: principal.data.by, role: principal.data.role }
        : msg.payload;
      const withDefault = raw && typeof raw === 'object' && !Array.isArray(raw) && (raw as { type?: unknown }).type === 'setpoint' && (raw as { durationS?: unknown }).durationS === undefined
        ? { ...raw, durationS: config.durationS }
        : raw;
      const cmd = OperatorCommandSchema.safeParse(withDefault);
      const id = raw && typeof raw === 'object' && 'id' in raw && typeof raw.id === 'string' ? raw.id : null;
      if (!cmd.success) {
        const reason = describeIssues(cmd.error);
        node.status({ fill: 'red', shape: 'ring', text: 'rejected: malformed' });
        send([null, null, Object.assign(msg, { topic: 'ack', payload: { id, status: 'rejected', reason, ts: Date.now() } })]);
        return done(new Error(`operator-command: ${reason}`));
      }
      const outcome = fromOperatorCommand(cmd.data, Date.now(), config.source);
      // The ack reuses the command's message, so an http-in request can be answered with it.
      const ack = (status: 'accepted' | 'rejected', reason?: string) =>
        Object.assign(msg, { topic: 'ack', payload: { id, type: cmd.data.type, status, reason, by: cmd.data.by, ts: Date.now() } });
      switch (outcome.kind) {
        case 'request': {
          node.status({ fill: 'blue', shape: 'dot', text: cmd.data.type === 'setpoint' ? `${cmd.data.powerW} W for ${cmd.data.durationS} s` : outcome.notice ? 'cleared, automatic resumes' : 'cleared' });
          const toArbiter = [{ topic: 'request', payload: outcome.request }, ...(outcome.notice ? [{ topic: outcome.notice.type, payload: outcome.notice }] : [])];
          send([toArbiter, null, ack('accepted')] as unknown as NodeMessageInFlow[]);
          break;
        }
        case 'safety': {
          const resume = outcome.notice?.resume ? ', automatic resumes' : '';
          node.status({ fill: outcome.command.type === 'estop' ? 'red' : 'green', shape: 'dot', text: `${outcome.command.type} by ${outcome.command.by}${resume}` });
          // The notice first: the arbiter must know the reset's choice before the release reaches it.
          send([outcome.notice ? { topic: outcome.notice.type, payload: outcome.notice } : null, { topic: outcome.command.type, payload: outcome.command }, ack('accepted')]);
          break;
        }
        case 'rejected':
          node.status({ fill: 'yellow', shape: 'ring', text: 'rejected' });
          node.warn(`operator-command: ${outcome.reason}`);
          send([null, null, ack('rejected', outcome.reason)]);
          break;
      }
      done();
    });
  }
  RED.nodes.registerType('operator-command', OperatorCommandNode);
};
