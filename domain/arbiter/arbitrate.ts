// The arbiter: of all the requests for battery power, the highest valid level wins (ties go to the
// newest); the winner is ramp-limited from the previous setpoint and then clamped into the safety
// envelope. The clamp comes last so that no ramp can hold the battery outside the envelope: when
// the envelope shrinks, the setpoint follows it at once (a ramp is a comfort, the envelope is not).
import {
  describeIssues, LEVEL_NAMES, LEVELS, RequestSchema,
  type Decision, type Envelope, type Level, type Request,
} from '../contracts';

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

const fmt = (w: number): string => `${Math.round(w)} W`;

export function arbitrate(
  requests: readonly unknown[],
  envelope: Envelope,
  previous: Pick<Decision, 'setpointW' | 'ts'> | null,
  now: number,
  config: ArbiterConfig,
): Decision {
  const { valid, ignored } = validRequests(requests, now);
  valid.sort(byPriority);
  const base = { siteId: envelope.siteId, ts: now, mode: envelope.mode, ignored };

  if (envelope.mode === 'SAFE_MODE' || envelope.mode === 'ESTOP') {
    for (const r of valid) ignored.push({ source: r.source, level: r.level, why: 'safety', detail: `${envelope.mode}: battery held at 0 W` });
    const causes = envelope.alarms.filter((a) => a.active && a.severity === 'critical').map((a) => a.code);
    return {
      ...base, setpointW: 0, requestedW: 0, level: LEVELS.SAFETY, source: 'safety-envelope', requestId: null, clamps: [],
      reason: `${envelope.mode}${causes.length ? ` (${causes.join(', ')})` : ''}: 0 W`,
    };
  }

  const winner = valid[0];
  for (const r of valid.slice(1)) {
    ignored.push({ source: r.source, level: r.level, why: 'superseded', detail: `${winner?.source} at level ${winner?.level} wins` });
  }
  const target = winner ? winner.powerW : 0;
  const clamps: Clamp[] = [];

  let setpoint = target;
  if (previous && config.rampWPerS > 0 && Number.isFinite(config.rampWPerS)) {
    const dtS = Math.max(0, (now - previous.ts) / 1000);
    const step = config.rampWPerS * dtS;
    const ramped = Math.min(previous.setpointW + step, Math.max(previous.setpointW - step, setpoint));
    if (ramped !== setpoint) clamps.push({ by: 'ramp', fromW: setpoint, toW: ramped, why: `ramp ${config.rampWPerS} W/s over ${dtS.toFixed(3)} s` });
    setpoint = ramped;
  }
  const clamped = clampToEnvelope(setpoint, envelope);
  if (clamped !== setpoint) {
    const dir = setpoint > 0 ? 'discharge' : 'charge';
    const causes = envelope.restrictions.filter((r) => r.direction === dir).map((r) => r.cause);
    clamps.push({ by: 'envelope', fromW: setpoint, toW: clamped, why: `${dir} limit ${fmt(dir === 'discharge' ? envelope.maxDischargeW : envelope.maxChargeW)}${causes.length ? ` (${[...new Set(causes)].join(', ')})` : ''}` });
    setpoint = clamped;
  }

  const who = winner ? `${LEVEL_NAMES[winner.level as Level]} ${winner.source} asks ${fmt(winner.powerW)}` : 'no valid request: idle';
  const how = clamps.length ? `; ${clamps.map((c) => `${c.by}: ${c.why}`).join('; ')}` : '';
  return {
    ...base,
    setpointW: setpoint,
    requestedW: winner ? winner.powerW : null,
    level: winner ? winner.level : null,
    source: winner ? winner.source : null,
    requestId: winner?.id ?? null,
    clamps,
    reason: `${who} -> ${fmt(setpoint)}${how}`,
  };
}
