import { describe, expect, it } from 'vitest';
import { fleetRows, filterRows, sortRows } from '../../../src/views/fleet/fleet-rows';
import type { AlarmView, SiteView } from '../../../src/api/types';

const site = (id: string, extra: Partial<SiteView> = {}): SiteView => ({ id, orgId: 'default', name: id, lat: null, lon: null, state: 'online', stateSince: null, lastSeen: null, ...extra });
const alarm = (siteId: string, severity: AlarmView['severity'], extra: Partial<AlarmView> = {}): AlarmView => ({
  id: Math.floor(Math.random() * 1e9), siteId, code: 'X', source: 's', severity, message: '', state: 'active', raisedAt: '2026-01-01T00:00:00Z', lastSeen: '2026-01-01T00:00:00Z',
  occurrences: 1, acknowledgedBy: null, acknowledgedAt: null, clearedAt: null, silencedUntil: null, silenced: false, episodeId: 0, remedy: '', ...extra,
});

describe('fleet rows', () => {
  it('prefer live values over the loaded latest, and the PCS power for the battery column', () => {
    const rows = fleetRows(
      [{ ...site('a'), latest: { ts: '2026-01-01T00:00:00Z', seq: 1, fields: { socPct: 40, batteryPowerW: 900, gridPowerW: 100 } } }],
      { a: { ts: Date.parse('2026-01-01T00:00:05Z'), fields: { socPct: 41, pcsPowerW: 1000 }, decision: null, envelope: null } },
      [],
    );
    expect(rows[0]).toMatchObject({ socPct: 41, batteryW: 1000, gridW: 100, lastContact: Date.parse('2026-01-01T00:00:05Z') });
  });

  it('count only alarms needing attention and name the worst severity', () => {
    const rows = fleetRows([site('a')], {}, [alarm('a', 'warning'), alarm('a', 'critical'), alarm('a', 'critical', { state: 'acknowledged' }), alarm('b', 'critical')]);
    expect(rows[0]).toMatchObject({ alarms: 2, worstSeverity: 'critical' });
  });

  it('take the state from realtime site-state pushes when there are any', () => {
    expect(fleetRows([site('a')], {}, [], { a: { state: 'offline', ts: 1 } })[0]?.state).toBe('offline');
  });

  it('filter by text, state and alarms', () => {
    const rows = fleetRows([site('north-1', { name: 'North' }), site('south-2', { state: 'offline' })], {}, [alarm('south-2', 'info')]);
    expect(filterRows(rows, { text: 'nor', state: 'all', alarmsOnly: false }).map((r) => r.id)).toEqual(['north-1']);
    expect(filterRows(rows, { text: '', state: 'offline', alarmsOnly: false }).map((r) => r.id)).toEqual(['south-2']);
    expect(filterRows(rows, { text: '', state: 'all', alarmsOnly: true }).map((r) => r.id)).toEqual(['south-2']);
  });

  it('sort both ways with missing values always last', () => {
    const rows = fleetRows(
      [site('a'), site('b'), site('c')],
      { a: { ts: 1, fields: { socPct: 20 }, decision: null, envelope: null }, b: { ts: 1, fields: { socPct: 80 }, decision: null, envelope: null } },
      [],
    );
    expect(sortRows(rows, 'socPct', 'asc').map((r) => r.id)).toEqual(['a', 'b', 'c']);
    expect(sortRows(rows, 'socPct', 'desc').map((r) => r.id)).toEqual(['b', 'a', 'c']);
  });
});

describe('fleet rows and stale data', () => {
  const t = Date.parse('2026-01-01T00:00:00Z');
  const limits = { state: 'fresh' as const, lastDataAt: null, staleAfterMs: 5000, lostAfterMs: 12_000 };

  it('show an online site whose records stopped as stale, since when, and without its old mode', () => {
    const s = { ...site('a', { freshness: limits }), latest: { ts: new Date(t).toISOString(), seq: 1, fields: { modeCode: 0 } } };
    expect(fleetRows([s], {}, [], {}, t + 1000)[0]).toMatchObject({ state: 'online', freshness: 'fresh', mode: 'NORMAL' });
    const stale = fleetRows([s], {}, [], {}, t + 6000)[0];
    expect(stale).toMatchObject({ state: 'stale', freshness: 'stale', mode: null });
    expect(stale?.stateLabel).toMatch(/^no data since /);
    expect(fleetRows([s], {}, [], {}, t + 20_000)[0]?.freshness).toBe('lost');
    expect(filterRows(fleetRows([s], {}, [], {}, t + 6000), { text: '', state: 'online', alarmsOnly: false })).toEqual([]);
  });

  it('keep offline as offline whatever the age', () => {
    expect(fleetRows([site('a', { state: 'offline', freshness: limits })], {}, [], {}, t)[0]).toMatchObject({ state: 'offline', stateLabel: 'offline' });
  });
});
