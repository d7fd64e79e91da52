import { describe, expect, it } from 'vitest';
import { mount } from '@vue/test-utils';
import EdgeHealth from '../../../src/views/site/EdgeHealth.vue';
import { edgeHealth, formatLag } from '../../../src/views/site/edge-health';

const NOW = Date.parse('2026-12-07T18:00:00Z');
const edge = { edgeBufferDepth: 0, edgeOldestUnsentS: 0, controlCycleMs: 23.4 };

describe("the site's edge link", () => {
  it('is up to date when the newest record is fresh, with the edge keeping nothing back', () => {
    const v = edgeHealth({ fields: edge, lastTs: NOW - 1500, now: NOW, freshness: 'fresh', state: 'online' });
    expect(v).toMatchObject({ verdict: 'current', tone: 'ok', lag: '1 s', backlog: 'none', cycle: '23 ms', lastKnown: false });
  });

  it('says a site that is online but an hour behind is so, with the backlog it was sending', () => {
    const fields = { edgeBufferDepth: 3600, edgeOldestUnsentS: 3605, controlCycleMs: 4.25 };
    const v = edgeHealth({ fields, lastTs: NOW - 3_720_000, now: NOW, freshness: 'lost', state: 'online' });
    expect(v.verdict).toBe('behind');
    expect(v.tone).toBe('crit');
    expect(v.headline).toBe('Online, but its data is 1 h 2 min behind: the edge is sending its backlog');
    expect(v.backlog).toBe('3600 records, oldest 1 h');
    expect(v.cycle).toBe('4.3 ms');
    expect(v.lastKnown).toBe(true);
  });

  it('shows an offline site with stale data as stale, never as current', () => {
    const v = edgeHealth({ fields: edge, lastTs: NOW - 7000, now: NOW, freshness: 'stale', state: 'offline' });
    expect(v).toMatchObject({ verdict: 'stale', tone: 'warn', headline: 'No data for 7 s', lastKnown: true });
  });

  it('says what an older edge does not report, and shows nothing before the first record', () => {
    expect(edgeHealth({ fields: { socPct: 50 }, lastTs: NOW, now: NOW, freshness: 'fresh', state: 'online' })).toMatchObject({ backlog: 'not reported', cycle: 'not reported' });
    expect(edgeHealth({ fields: {}, lastTs: null, now: NOW, freshness: 'lost', state: 'unknown' })).toMatchObject({ verdict: 'unknown', lag: '—' });
  });

  it('writes durations at the precision an operator reads', () => {
    expect([formatLag(950), formatLag(12_400), formatLag(125_000), formatLag(3_725_000), formatLag(2 * 86_400_000 + 5 * 3_600_000)])
      .toEqual(['950 ms', '12 s', '2 min 5 s', '1 h 2 min', '2 d 5 h']);
  });
});

describe('the Edge link card', () => {
  it('marks the figures of a site that is behind as last known', () => {
    const w = mount(EdgeHealth, { props: { fields: { edgeBufferDepth: 12, edgeOldestUnsentS: 30, controlCycleMs: 41 }, lastTs: NOW - 20_000, now: NOW, freshness: 'stale', state: 'online' } });
    expect(w.attributes('data-verdict')).toBe('behind');
    expect(w.text()).toContain('Online, but its data is 20 s behind');
    expect(w.find('[data-test="edge-backlog"]').text()).toBe('12 records, oldest 30 s (when the newest record was made)');
    expect(w.find('[data-test="edge-cycle"]').text()).toBe('41 ms (last known)');
  });
});
