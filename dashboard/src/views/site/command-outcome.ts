// What became of a command, in the words and tone the command panel shows: the API answers with
// the site's final ack (executed 200, rejected 409, timeout 504); 'accepted' arrives first over
// the realtime channel.
import { ApiRequestError } from '../../api/http';
import type { CommandAck, CommandRequest } from '../../api/types';
import { formatPower } from '../../format';

export type OutcomeTone = 'ok' | 'warn' | 'crit' | 'info';

export interface CommandOutcomeView {
  outcome: 'sending' | 'accepted' | 'executed' | 'rejected' | 'timeout' | 'error';
  tone: OutcomeTone;
  text: string;
}

export function describeCommand(c: CommandRequest): string {
  switch (c.type) {
    case 'setpoint':
      return `Setpoint ${formatPower(c.powerW ?? 0)} (${(c.powerW ?? 0) >= 0 ? 'discharge' : 'charge'}) for ${Math.round((c.expiresInS ?? 900) / 60)} min`;
    case 'mode':
      return c.mode === 'standby' ? `Standby (0 W) for ${Math.round((c.expiresInS ?? 3600) / 60)} min` : 'Automatic operation';
    case 'estop':
      return 'Emergency stop';
    case 'reset':
      return c.resume ? 'Reset the emergency stop and resume automatic operation' : 'Reset the emergency stop (the site stays at 0 W)';
  }
}

/** The envelope limit a setpoint exceeds in its direction, or null when it fits (or the limit is unknown). */
export function overLimit(powerW: number, maxChargeW: number | null | undefined, maxDischargeW: number | null | undefined): { direction: 'charge' | 'discharge'; limitW: number } | null {
  const direction = powerW >= 0 ? 'discharge' : 'charge';
  const limitW = direction === 'discharge' ? maxDischargeW : maxChargeW;
  if (limitW === null || limitW === undefined || Math.abs(powerW) <= limitW) return null;
  return { direction, limitW };
}

export function outcomeOfAck(ack: Pick<CommandAck, 'outcome' | 'reason' | 'appliedW' | 'requestedW' | 'limitedBy'>): CommandOutcomeView {
  const why = ack.reason ? `: ${ack.reason}` : '';
  switch (ack.outcome) {
    case 'accepted': return { outcome: 'accepted', tone: 'info', text: `Accepted by the site, executing…${why}` };
    case 'executed':
      // What was applied, not merely that something was: a clamped setpoint says so, and by what.
      if (ack.limitedBy && ack.appliedW !== undefined) {
        const asked = ack.requestedW !== undefined ? ` (asked ${formatPower(Math.abs(ack.requestedW))})` : '';
        return { outcome: 'executed', tone: 'warn', text: `Executed, limited to ${formatPower(Math.abs(ack.appliedW))} by ${ack.limitedBy}${asked}` };
      }
      if (ack.appliedW !== undefined) return { outcome: 'executed', tone: 'ok', text: `Executed: ${formatPower(Math.abs(ack.appliedW))} ${ack.appliedW >= 0 ? 'discharge' : 'charge'} as asked` };
      return { outcome: 'executed', tone: 'ok', text: `Executed by the site${why}` };
    case 'rejected': return { outcome: 'rejected', tone: 'crit', text: `Rejected by the site${why}` };
    case 'timeout': return { outcome: 'timeout', tone: 'warn', text: `No answer from the site in time${why}` };
  }
}

/** A failed request: the API's 409 and 504 carry the site's ack in `details`. */
export function outcomeOfError(err: unknown): CommandOutcomeView {
  if (err instanceof ApiRequestError) {
    const d = err.details as { ack?: CommandAck; outcome?: CommandAck['outcome']; reason?: string } | undefined;
    const ack = d?.ack ?? (d?.outcome ? { outcome: d.outcome, reason: d.reason } : null);
    if (ack) return outcomeOfAck(ack);
    if (err.status === 409) return { outcome: 'rejected', tone: 'crit', text: `Rejected: ${err.message}` };
    if (err.status === 504) return { outcome: 'timeout', tone: 'warn', text: `No answer from the site in time: ${err.message}` };
    return { outcome: 'error', tone: 'crit', text: `Not sent: ${err.message}` };
  }
  return { outcome: 'error', tone: 'crit', text: `Not sent: ${err instanceof Error ? err.message : String(err)}` };
}
