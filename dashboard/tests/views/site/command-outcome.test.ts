import { describe, expect, it } from 'vitest';
import { ApiRequestError } from '../../../src/api/http';
import { describeCommand, outcomeOfAck, outcomeOfError } from '../../../src/views/site/command-outcome';

describe('command outcomes', () => {
  it('describe a command in words with its direction and expiry', () => {
    expect(describeCommand({ type: 'setpoint', powerW: -1500, expiresInS: 600 })).toBe('Setpoint -1.50 kW (charge) for 10 min');
    expect(describeCommand({ type: 'estop' })).toBe('Emergency stop');
  });

  it('show each ack outcome with its tone', () => {
    expect(outcomeOfAck({ outcome: 'executed' })).toMatchObject({ outcome: 'executed', tone: 'ok' });
    expect(outcomeOfAck({ outcome: 'rejected', reason: 'e-stop latched' })).toMatchObject({ outcome: 'rejected', tone: 'crit', text: 'Rejected by the site: e-stop latched' });
  });

  it('say an executed setpoint was limited, to what and by what, and one inside the limit as asked', () => {
    expect(outcomeOfAck({ outcome: 'executed', requestedW: 50_000, appliedW: 4990, limitedBy: 'the PCS rating', reason: 'limited to 4.99 kW by the PCS rating (asked 50 kW)' }))
      .toEqual({ outcome: 'executed', tone: 'warn', text: 'Executed, limited to 4.99 kW by the PCS rating (asked 50.0 kW)' });
    expect(outcomeOfAck({ outcome: 'executed', requestedW: -2000, appliedW: -2000 })).toEqual({ outcome: 'executed', tone: 'ok', text: 'Executed: 2.00 kW charge as asked' });
    expect(describeCommand({ type: 'reset', resume: false })).toBe('Reset the emergency stop (the site stays at 0 W)');
    expect(describeCommand({ type: 'reset', resume: true })).toBe('Reset the emergency stop and resume automatic operation');
  });

  it('read the site ack from the API 409 and 504 answers', () => {
    const rejected = new ApiRequestError(409, 'command_rejected', 'the site rejected the command', { id: 'x', ack: { outcome: 'rejected', reason: 'SoC reserve' } });
    expect(outcomeOfError(rejected)).toMatchObject({ outcome: 'rejected', text: 'Rejected by the site: SoC reserve' });
    const timeout = new ApiRequestError(504, 'command_timeout', 'the site did not answer in time', { id: 'x', ack: { outcome: 'timeout' } });
    expect(outcomeOfError(timeout)).toMatchObject({ outcome: 'timeout', tone: 'warn' });
  });

  it('report a refused request (rate limit, no permission) as not sent', () => {
    expect(outcomeOfError(new ApiRequestError(429, 'rate_limited', 'too many commands'))).toMatchObject({ outcome: 'error', text: 'Not sent: too many commands' });
  });
});
