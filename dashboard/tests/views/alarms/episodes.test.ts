import { describe, expect, it } from 'vitest';
import { episodeState, groupEpisodes } from '../../../src/views/alarms/episodes';
import type { AlarmView } from '../../../src/api/types';

const alarm = (id: number, code: string, episodeId: number, extra: Partial<AlarmView> = {}): AlarmView => ({
  id, siteId: 'a', code, source: 's', severity: 'warning', message: '', state: 'active', raisedAt: new Date(1_700_000_000_000 + id * 1000).toISOString(), lastSeen: '2026-01-01T00:00:00Z',
  occurrences: 1, acknowledgedBy: null, acknowledgedAt: null, clearedAt: null, silencedUntil: null, silenced: false, episodeId, remedy: `do ${code}`, ...extra,
});

describe('alarm episodes on the page', () => {
  it('gather the alarms under their root, the worst severity and the count still to acknowledge', () => {
    const [e, other] = groupEpisodes([
      alarm(3, 'BMS_ALARM', 2), alarm(2, 'OVER_TEMPERATURE', 2, { severity: 'critical' }), alarm(4, 'PCS_FAULT', 2, { state: 'acknowledged' }), alarm(9, 'ANOMALY', 9, { severity: 'info' }),
    ]);
    expect(e).toMatchObject({ id: 2, rootOpen: true, severity: 'critical', active: 2 });
    expect(e?.root.code).toBe('OVER_TEMPERATURE');
    expect(e?.consequences.map((a) => a.code)).toEqual(['BMS_ALARM', 'PCS_FAULT']);
    expect(other?.root.code).toBe('ANOMALY');
  });

  it('name the earliest open member when the root has cleared', () => {
    const [e] = groupEpisodes([alarm(5, 'PCS_FAULT', 2), alarm(4, 'BMS_ALARM', 2)]);
    expect(e).toMatchObject({ id: 2, rootOpen: false });
    expect(e?.root.code).toBe('BMS_ALARM');
  });

  it('say acknowledged once nothing is active, silenced while every active one is', () => {
    const now = 1_700_000_000_000;
    const until = new Date(now + 60_000).toISOString();
    expect(episodeState(groupEpisodes([alarm(1, 'X', 1, { state: 'acknowledged' })], now)[0]!)).toBe('acknowledged');
    expect(episodeState(groupEpisodes([alarm(1, 'X', 1, { silenced: true, silencedUntil: until })], now)[0]!)).toBe('silenced');
    expect(episodeState(groupEpisodes([alarm(1, 'X', 1)], now)[0]!)).toBe('active');
  });
});
