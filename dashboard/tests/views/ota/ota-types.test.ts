import { describe, expect, it } from 'vitest';
import { rolloutTone } from '../../../src/views/ota/ota-types';

describe('roll-out tones', () => {
  it('shows a roll-out that completed with failed sites as a warning, not as all good', () => {
    const counts = { targets: 1, notified: 1, committed: 0, failed: 1, silent: 0, pending: 0 };
    expect(rolloutTone({ state: 'completed', counts })).toBe('warn');
    expect(rolloutTone({ state: 'completed', counts: { ...counts, committed: 1, failed: 0 } })).toBe('ok');
    expect(rolloutTone({ state: 'aborted', counts })).toBe('crit');
  });
});
