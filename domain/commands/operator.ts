// A verified remote command as the operator-command node takes it (contracts.ts OperatorCommand):
// 'mode standby' holds 0 W at operator level, 'mode auto' clears the operator request and resumes
// automatic operation (after a reset held it), a reset carries the choice whether automatic resumes.
import type { CommandAck, Decision, OperatorCommand, SignedCommand } from '../contracts';
import { causesWords, kw } from '../arbiter/explain';

/** How long 'standby' holds when the command gives no duration, s. */
export const DEFAULT_STANDBY_S = 3600;

/** A command that moves the battery: everything but a settings document (which site-settings takes). */
export type OperatorSignedCommand = SignedCommand & { body: Exclude<SignedCommand['body'], { type: 'settings' }> };

export function toOperatorCommand(cmd: OperatorSignedCommand, standbyS = DEFAULT_STANDBY_S): OperatorCommand {
  const who = { id: cmd.id, by: cmd.by, role: cmd.role };
  const b = cmd.body;
  switch (b.type) {
    case 'setpoint':
      return { type: 'setpoint', powerW: b.powerW, durationS: b.durationS, ...who };
    case 'mode':
      return b.mode === 'standby' ? { type: 'setpoint', powerW: 0, durationS: b.durationS ?? standbyS, ...who } : { type: 'clear', resume: true, ...who };
    case 'estop':
      return { type: 'estop', ...who };
    case 'reset':
      return { type: 'reset', resume: b.resume ?? false, ...who };
  }
}

/**
 * When a command counts as executed: a setpoint (and standby) once a decision names it as the
 * winning request; clear, e-stop and reset once operator-command has accepted them (the e-stop
 * latch and the clear take effect right there).
 */
export function executedWhen(op: OperatorCommand): 'decision' | 'accepted' {
  return op.type === 'setpoint' ? 'decision' : 'accepted';
}

/**
 * What an executed setpoint's ack says: what was asked, what the site settles at (the envelope's
 * limit, not the ramp's passing value) and, when lower, the limit that holds it, in words.
 */
export function executedDetails(d: Pick<Decision, 'requestedW' | 'limit'>): Pick<CommandAck, 'requestedW' | 'appliedW' | 'limitedBy' | 'reason'> {
  if (d.requestedW === null) return {};
  if (!d.limit) return { requestedW: d.requestedW, appliedW: d.requestedW };
  const by = causesWords(d.limit.causes);
  return { requestedW: d.requestedW, appliedW: d.limit.appliedW, limitedBy: by, reason: `limited to ${kw(d.limit.appliedW)} by ${by} (asked ${kw(d.requestedW)})` };
}
