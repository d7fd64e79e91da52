// arbiter: requests and the safety envelope in, the decision out. Requests are remembered (the
// latest per level and source) until they expire; each envelope triggers one decision, so the
// decision rate is the safety node's cycle.
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { z } from 'zod';
import { arbitrate } from '../../domain/arbiter/arbitrate';
import { RequestBook } from '../../domain/arbiter/request-book';
import { describeIssues, EnvelopeSchema, LEVEL_NAMES, type Decision, type Level } from '../../domain/contracts';
import { parseConfig } from '../kit/config';
import { errorStatus } from '../kit/status';

const ArbiterConfigSchema = z.object({
  rampWPerS: z.coerce.number().positive().default(1000),
});

interface ArbiterDef extends NodeDef {
  rampWPerS: string;
}

/** Requests that expired longer ago than this are forgotten rather than reported again. */
const FORGET_AFTER_MS = 60_000;

function looksLikeRequest(p: unknown): boolean {
  return !!p && typeof p === 'object' && 'level' in p;
}

export = function register(RED: NodeAPI): void {
  function ArbiterNode(this: Node, def: ArbiterDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    let config: z.infer<typeof ArbiterConfigSchema>;
    try {
      config = parseConfig(ArbiterConfigSchema, 'arbiter', def);
    } catch (err) {
      node.status(errorStatus(err));
      node.error(err);
      return;
    }
    const book = new RequestBook();
    let previous: Decision | null = null;

    node.on('input', (msg: NodeMessageInFlow, send, done) => {
      const env = EnvelopeSchema.safeParse(msg.payload);
      if (env.success) {
        const now = Date.now();
        const decision = arbitrate(book.take(now - FORGET_AFTER_MS), env.data, previous, now, config);
        previous = decision;
        const safe = decision.mode === 'SAFE_MODE' || decision.mode === 'ESTOP';
        const who = decision.level ? `L${decision.level} ${LEVEL_NAMES[decision.level as Level]}` : 'idle';
        node.status({ fill: safe ? 'red' : decision.clamps.length ? 'yellow' : 'green', shape: 'dot', text: `${who} · ${Math.round(decision.setpointW)} W` });
        send(Object.assign(msg, { topic: 'decision', payload: decision }));
        return done();
      }
      const items: unknown[] = Array.isArray(msg.payload) ? msg.payload : [msg.payload];
      if (!items.every(looksLikeRequest)) {
        return done(new Error(`arbiter: expected an envelope or request(s): ${describeIssues(env.error)}`));
      }
      for (const r of items) {
        if (!book.put(r)) return done(new Error('arbiter: too many request sources; request refused'));
      }
      done();
    });
  }
  RED.nodes.registerType('arbiter', ArbiterNode);
};
