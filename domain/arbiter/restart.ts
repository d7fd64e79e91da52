// A reset restarts nothing by itself (IEC 60204-1): when the battery returns from ESTOP or SAFE_MODE
// to operation, every request made before that moment is dropped, and the automatic levels (GRID,
// SITE, ECONOMIC) stay off until a person resumes them, either with the reset itself ("reset and
// resume automatic operation") or later ("Automatic"). Until then the site holds 0 W, and only an
// operator request made after the return moves it. README, "Safety and arbitration".
import { LEVELS, type Envelope, type Level, type RestartNotice } from '../contracts';

export interface RestartGate {
  /** The latest return to operation, ms; requests made at or before it never move the battery. */
  resetAt: number | null;
  /** Who reset (null when SAFE_MODE cleared by itself) or, later, who resumed automatic operation. */
  by: string | null;
  /** Whether levels other than OPERATOR may win. */
  automatic: boolean;
  /** The last envelope held the battery (SAFE_MODE or ESTOP). */
  held: boolean;
  /** The hold interrupts operation, so leaving it is a restart (see interrupts). */
  interrupted: boolean;
  /** An operating envelope was seen since start. */
  operated: boolean;
  /** A reset's choice, waiting for the return to operation that the reset releases. */
  pending: { by: string; resume: boolean } | null;
}

export const GATE_AT_START: RestartGate = { resetAt: null, by: null, automatic: true, held: false, interrupted: false, operated: false, pending: null };

/**
 * A reset notice may reach the arbiter just after the envelope its reset released (they travel on
 * two wires): a notice this soon after a return from ESTOP still sets that return's choice.
 */
export const LATE_NOTICE_MS = 5000;

const isHeld = (mode: Envelope['mode']): boolean => mode === 'SAFE_MODE' || mode === 'ESTOP';

/**
 * Whether a hold interrupts operation: an e-stop always (its latch outlives restarts), any other
 * hold once the battery has operated in this run. Before that the site is still starting (devices
 * coming up, a fault present at start): starting is the start decision, not a restart.
 */
function interrupts(env: Pick<Envelope, 'mode'>, operated: boolean): boolean {
  return env.mode === 'ESTOP' || operated;
}

/** Follows the envelope's mode: leaving an interrupting hold is a reset. */
export function gateOnEnvelope(g: RestartGate, env: Pick<Envelope, 'mode' | 'alarms'>, now: number): RestartGate {
  if (isHeld(env.mode)) {
    // SAFE_MODE after a reset's release: the reset did not return the battery to operation, so its
    // choice to resume does not carry over to whenever the remaining cause clears.
    const pending = env.mode === 'SAFE_MODE' && !env.alarms.some((a) => a.active && a.code === 'ESTOP') ? null : g.pending;
    return { ...g, held: true, interrupted: g.interrupted || interrupts(env, g.operated), pending };
  }
  if (g.held && g.interrupted) {
    const resume = g.pending?.resume ?? false;
    return { ...g, held: false, interrupted: false, operated: true, pending: null, resetAt: now, by: g.pending?.by ?? null, automatic: resume };
  }
  return { ...g, held: false, interrupted: false, operated: true, pending: null };
}

/** A reset command or "resume automatic operation" from operator-command. */
export function gateOnNotice(g: RestartGate, n: RestartNotice, now: number): RestartGate {
  if (n.type === 'resume') return n.resume ? { ...g, automatic: true, by: n.by } : g;
  if (g.held) return { ...g, pending: { by: n.by, resume: n.resume } };
  // The release overtook the notice: the return just made is this reset's.
  if (g.resetAt !== null && now - g.resetAt <= LATE_NOTICE_MS && g.by === null) return { ...g, by: n.by, automatic: g.automatic || n.resume };
  return g;
}

/** Why a request may not win under this gate, or null when it may. */
export function gateRefuses(g: RestartGate, r: { level: Level; ts: number }): string | null {
  if (g.resetAt !== null && r.ts <= g.resetAt) return `made before the reset at ${clock(g.resetAt)}: dropped`;
  if (!g.automatic && r.level !== LEVELS.OPERATOR) return 'automatic operation is off since the reset: it runs again when someone resumes it';
  return null;
}

/** The gate's hold as the decision reports it: null once nothing is held back. */
export function holdOf(g: RestartGate): { since: number; by: string | null; automatic: boolean } | null {
  return g.resetAt !== null && !g.automatic ? { since: g.resetAt, by: g.by, automatic: g.automatic } : null;
}

/** hh:mm:ss UTC: the domain has no time zone; the dashboard shows local times. */
export function clock(ms: number): string {
  return `${new Date(ms).toISOString().slice(11, 19)} UTC`;
}
