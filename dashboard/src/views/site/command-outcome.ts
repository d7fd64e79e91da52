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
      return 'Reset the emergency stop latch';
  }
}

export function outcomeOfAck(ack: Pick<CommandAck, 'outcome' | 'reason'>): CommandOutcomeView {
  const why = ack.reason ? `: ${ack.reason}` : '';
  switch (ack.outcome) {
    case 'accepted': return { outcome: 'accepted', tone: 'info', text: `Accepted by the site, executing…${why}` };
    case 'executed': return { outcome: 'executed', tone: 'ok', text: `Executed by the site${why}` };
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
