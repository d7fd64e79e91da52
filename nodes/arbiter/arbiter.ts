// arbiter: requests, restart notices and the safety envelope in, the decision out. Requests are
// remembered (the latest per level and source) until they expire; each envelope triggers one
// decision, so the decision rate is the safety node's cycle. A return from ESTOP or SAFE_MODE holds
// 0 W until someone commands the battery (domain/arbiter/restart.ts).
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { z } from 'zod';
import { ArbiterState } from '../../domain/arbiter/controller';
import { describeIssues, EnvelopeSchema, LEVEL_NAMES, RestartNoticeSchema, type Level } from '../../domain/contracts';
import { parseConfig } from '../kit/config';
import { errorStatus } from '../kit/status';
import { hostMetrics } from '../../io/host-resources';

const ArbiterConfigSchema = z.object({
  rampWPerS: z.coerce.number().positive().default(1000),
});

interface ArbiterDef extends NodeDef {
  rampWPerS: string;
}

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
    const state = new ArbiterState(config);
    const metrics = hostMetrics(RED.settings);

    node.on('input', (msg: NodeMessageInFlow, send, done) => {
      const env = EnvelopeSchema.safeParse(msg.payload);
      if (env.success) {
        const decision = state.decide(env.data, Date.now());
        metrics.decision({ level: decision.level ?? null, mode: decision.mode, setpointW: decision.setpointW, requestedW: decision.requestedW });
        const safe = decision.mode === 'SAFE_MODE' || decision.mode === 'ESTOP';
        const who = decision.level ? `L${decision.level} ${LEVEL_NAMES[decision.level as Level]}` : decision.hold ? 'held after reset' : 'idle';
        node.status({ fill: safe ? 'red' : decision.clamps.length || decision.hold ? 'yellow' : 'green', shape: 'dot', text: `${who} · ${Math.round(decision.setpointW)} W` });
        send(Object.assign(msg, { topic: 'decision', payload: decision }));
        return done();
      }
      const notice = RestartNoticeSchema.safeParse(msg.payload);
      if (notice.success && (msg.topic === 'reset' || msg.topic === 'resume')) {
        state.notice(notice.data, Date.now());
        return done();
      }
      const items: unknown[] = Array.isArray(msg.payload) ? msg.payload : [msg.payload];
      if (!items.every(looksLikeRequest)) {
        return done(new Error(`arbiter: expected an envelope, request(s) or a restart notice: ${describeIssues(env.error)}`));
      }
      for (const r of items) {
        if (!state.request(r)) return done(new Error('arbiter: too many request sources; request refused'));
      }
      done();
    });
  }
  RED.nodes.registerType('arbiter', ArbiterNode);
};
