// The arbiter: of all the requests for battery power, the highest valid level wins (ties go to the
// newest); the winner is ramp-limited from the previous setpoint and then clamped into the safety
// envelope. The clamp comes last so that no ramp can hold the battery outside the envelope: when
// the envelope shrinks, the setpoint follows it at once (a ramp is a comfort, the envelope is not).
import {
  describeIssues, LEVELS, RequestSchema,
  type Decision, type Envelope, type Request,
} from '../contracts';
import { bindingCauses, causesWords, kw, powerWords, requester, sentence } from './explain';
import { clock, GATE_AT_START, gateRefuses, holdOf, type RestartGate } from './restart';

export interface ArbiterConfig {
  /** Largest setpoint change per second, W/s, in either direction. */
  rampWPerS: number;
}

type Ignored = Decision['ignored'][number];
type Clamp = Decision['clamps'][number];

function sourceOf(raw: unknown): string {
  if (raw && typeof raw === 'object' && 'source' in raw && typeof raw.source === 'string') return raw.source;
  return '(unknown)';
}
function levelOf(raw: unknown): number | null {
  if (raw && typeof raw === 'object' && 'level' in raw && typeof raw.level === 'number') return raw.level;
  return null;
}

/** Split raw requests into the valid ones and the reasons the others are ignored. */
export function validRequests(raw: readonly unknown[], now: number): { valid: Request[]; ignored: Ignored[] } {
  const valid: Request[] = [];
  const ignored: Ignored[] = [];
  for (const r of raw) {
    const parsed = RequestSchema.safeParse(r);
    if (!parsed.success) {
      ignored.push({ source: sourceOf(r), level: levelOf(r), why: 'malformed', detail: describeIssues(parsed.error) });
    } else if (parsed.data.expiresAt <= now) {
      ignored.push({ source: parsed.data.source, level: parsed.data.level, why: 'expired', detail: `expired ${now - parsed.data.expiresAt} ms ago` });
    } else {
      valid.push(parsed.data);
    }
  }
  return { valid, ignored };
}

/** Highest level (lowest number) first, then newest first, then source name for a stable order. */
export function byPriority(a: Request, b: Request): number {
  return a.level - b.level || b.ts - a.ts || a.source.localeCompare(b.source);
}

export function clampToEnvelope(powerW: number, env: Pick<Envelope, 'maxChargeW' | 'maxDischargeW'>): number {
  return Math.min(env.maxDischargeW, Math.max(-env.maxChargeW, powerW));
}

export interface Gate {
  /** The restart gate (restart.ts); without one nothing is held back. */
  gate?: RestartGate;
}

export function arbitrate(
  requests: readonly unknown[],
  envelope: Envelope,
  previous: Pick<Decision, 'setpointW' | 'ts'> | null,
  now: number,
  config: ArbiterConfig,
  { gate = GATE_AT_START }: Gate = {},
): Decision {
  const { valid: all, ignored } = validRequests(requests, now);
  all.sort(byPriority);
  const base = { siteId: envelope.siteId, ts: now, mode: envelope.mode, ignored };

  if (envelope.mode === 'SAFE_MODE' || envelope.mode === 'ESTOP') {
    for (const r of all) ignored.push({ source: r.source, level: r.level, why: 'safety', detail: `${envelope.mode}: battery held at 0 W` });
    const causes = envelope.alarms.filter((a) => a.active && a.severity === 'critical');
    const what = envelope.mode === 'ESTOP' ? 'Emergency stop (ESTOP)' : 'Safety stop (SAFE_MODE)';
    // The e-stop's own message says who; other causes keep their code for the alarm list.
    const why = causes.length ? `: ${causes.map((a) => (a.code === 'ESTOP' ? a.message : a.message ? `${a.code} (${a.message})` : a.code)).join('; ')}` : '';
    const after = envelope.mode === 'ESTOP'
      ? 'until it is reset; after the reset the battery stays at 0 W until someone commands it'
      : 'until the cause clears; then it stays at 0 W until someone commands it';
    return {
      ...base, setpointW: 0, requestedW: 0, level: LEVELS.SAFETY, source: 'safety-envelope', requestId: null, clamps: [], expiresAt: null, limit: null, hold: null,
      reason: `${what}${why}. The battery is held at 0 W ${after}.`,
    };
  }

  // Requests the restart gate holds back cannot win (restart.ts).
  const held: Request[] = [];
  const valid: Request[] = [];
  for (const r of all) {
    const refused = gateRefuses(gate, r);
    if (refused) {
      ignored.push({ source: r.source, level: r.level, why: 'reset', detail: refused });
      held.push(r);
    } else {
      valid.push(r);
    }
  }

  const winner = valid[0];
  const superseded = valid.slice(1);
  for (const r of superseded) {
    ignored.push({ source: r.source, level: r.level, why: 'superseded', detail: `${winner?.source} at level ${winner?.level} wins` });
  }
  const target = winner ? winner.powerW : 0;
  const clamps: Clamp[] = [];

  let setpoint = target;
  if (previous && config.rampWPerS > 0 && Number.isFinite(config.rampWPerS)) {
    const dtS = Math.max(0, (now - previous.ts) / 1000);
    const step = config.rampWPerS * dtS;
    const ramped = Math.min(previous.setpointW + step, Math.max(previous.setpointW - step, setpoint));
    if (ramped !== setpoint) clamps.push({ by: 'ramp', fromW: setpoint, toW: ramped, why: `ramp ${kw(config.rampWPerS)}/s over ${dtS.toFixed(3)} s` });
    setpoint = ramped;
  }
  const clamped = clampToEnvelope(setpoint, envelope);
  if (clamped !== setpoint) {
    const dir = setpoint > 0 ? 'discharge' : 'charge';
    const limitW = dir === 'discharge' ? envelope.maxDischargeW : envelope.maxChargeW;
    const causes = [...new Set(bindingCauses(envelope.restrictions, dir, limitW))];
    clamps.push({ by: 'envelope', fromW: setpoint, toW: clamped, why: `${dir} limit ${kw(limitW)} by ${causesWords(causes)}${causes.length ? ` (${causes.join(', ')})` : ''}` });
    setpoint = clamped;
  }

  // The limit the request itself meets, whatever the ramp does meanwhile: what the command settles at.
  let limit: Decision['limit'] = null;
  if (winner) {
    const settled = clampToEnvelope(winner.powerW, envelope);
    if (settled !== winner.powerW) {
      const direction = winner.powerW > 0 ? 'discharge' : 'charge';
      limit = { direction, appliedW: settled, causes: bindingCauses(envelope.restrictions, direction, Math.abs(settled)) };
    }
  }

  const hold = holdOf(gate);
  const parts: string[] = [];
  if (winner) {
    parts.push(`${sentence(requester(winner.source, winner.level))} asks ${winner.powerW === 0 ? 'for 0 kW' : `to ${powerWords(winner.powerW)}`}${winner.reason ? ` (${winner.reason})` : ''}.`);
    if (limit) parts.push(`Limited to ${kw(limit.appliedW)} by ${causesWords(limit.causes)}.`);
    if (clamps.some((c) => c.by === 'ramp')) parts.push(`Ramping at ${kw(config.rampWPerS)}/s: ${powerWords(setpoint)} now.`);
    if (superseded.length) parts.push(`It overrides ${superseded.map((r) => requester(r.source, r.level)).join(', ')}.`);
  } else if (hold) {
    parts.push(`Held at 0 kW since the reset at ${clock(hold.since)}${hold.by ? ` by ${hold.by}` : ' (SAFE_MODE cleared)'}: nothing runs until someone sends a setpoint or resumes automatic operation.`);
  } else {
    parts.push(`No request: the battery idles at ${powerWords(setpoint)}.`);
  }
  if (held.length) parts.push(`Held back by the reset: ${held.map((r) => requester(r.source, r.level)).join(', ')}.`);

  return {
    ...base,
    setpointW: setpoint,
    requestedW: winner ? winner.powerW : null,
    level: winner ? winner.level : null,
    source: winner ? winner.source : null,
    requestId: winner?.id ?? null,
    clamps,
    reason: parts.join(' '),
    expiresAt: winner ? winner.expiresAt : null,
    limit,
    hold,
  };
}
