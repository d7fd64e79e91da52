// Operator commands become level-3 requests with an expiry, or e-stop / reset commands for the
// safety layer. Who may reset the e-stop is decided here, in one place.
import { LEVELS, type OperatorCommand, type Request, type Role, type SafetyCommand } from '../contracts';

/** Roles that may release an e-stop (seed RBAC: OPERATOR sends commands, higher roles include it). */
export const RESET_ROLES: readonly Role[] = ['SUPER_ADMIN', 'ADMIN', 'MANAGER', 'TECHNICIAN', 'OPERATOR'];

export type CommandOutcome =
  | { kind: 'request'; request: Request }
  | { kind: 'safety'; command: SafetyCommand }
  | { kind: 'rejected'; reason: string };

export function fromOperatorCommand(cmd: OperatorCommand, now: number, source = 'operator'): CommandOutcome {
  switch (cmd.type) {
    case 'setpoint':
      return {
        kind: 'request',
        request: { level: LEVELS.OPERATOR, source, powerW: cmd.powerW, ts: now, expiresAt: now + Math.round(cmd.durationS * 1000), id: cmd.id, reason: `setpoint by ${cmd.by}` },
      };
    case 'clear':
      // Replaces the source's request with one that has already expired: the arbiter drops it.
      return { kind: 'request', request: { level: LEVELS.OPERATOR, source, powerW: 0, ts: now, expiresAt: now, id: cmd.id, reason: `cleared by ${cmd.by}` } };
    case 'estop':
      return { kind: 'safety', command: { type: 'estop', by: cmd.by, id: cmd.id } };
    case 'reset':
      if (!cmd.role || !RESET_ROLES.includes(cmd.role)) {
        return { kind: 'rejected', reason: `reset needs one of the roles ${RESET_ROLES.join(', ')}; ${cmd.by} has ${cmd.role ?? 'none'}` };
      }
      return { kind: 'safety', command: { type: 'reset', by: cmd.by, id: cmd.id } };
  }
}
