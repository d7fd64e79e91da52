// Operator commands become level-3 requests with an expiry, or e-stop / reset commands for the
// safety layer. Who may release an e-stop is the permission table's 'commands:reset', the same
// rule the cloud API applies, so the edge and the cloud cannot disagree. A reset, and a clear that
// resumes automatic operation, also tell the arbiter (restart.ts): a reset alone moves nothing.
import { LEVELS, type OperatorCommand, type Request, type RestartNotice, type Role, type SafetyCommand } from '../contracts';
import { hasPermission, rolesWith } from '../permissions';

/** Roles that may release an e-stop: those holding 'commands:reset' (TECHNICIAN and above). */
export const RESET_ROLES: readonly Role[] = rolesWith('commands:reset');

export function mayReset(role: Role | undefined): boolean {
  return role !== undefined && hasPermission(role, 'commands:reset');
}

export type CommandOutcome =
  | { kind: 'request'; request: Request; notice?: RestartNotice }
  | { kind: 'safety'; command: SafetyCommand; notice?: RestartNotice }
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
      return {
        kind: 'request',
        request: { level: LEVELS.OPERATOR, source, powerW: 0, ts: now, expiresAt: now, id: cmd.id, reason: `cleared by ${cmd.by}` },
        ...(cmd.resume ? { notice: { type: 'resume', by: cmd.by, resume: true } } : {}),
      };
    case 'estop':
      return { kind: 'safety', command: { type: 'estop', by: cmd.by, id: cmd.id } };
    case 'reset':
      if (!mayReset(cmd.role)) {
        return { kind: 'rejected', reason: `reset needs one of the roles ${RESET_ROLES.join(', ')}; ${cmd.by} has ${cmd.role ?? 'none'}` };
      }
      return { kind: 'safety', command: { type: 'reset', by: cmd.by, id: cmd.id }, notice: { type: 'reset', by: cmd.by, resume: cmd.resume ?? false } };
  }
}
