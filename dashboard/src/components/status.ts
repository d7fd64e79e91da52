// Status words and tones shared by the views: one mapping, so "offline" looks the same everywhere.
import type { Tone } from './StatusChip.vue';
import { cloudLimits, freshness, type Freshness, type FreshnessLimits } from '../../../domain/freshness';
import { formatClock } from '../format';

export type { Freshness, FreshnessLimits };

export function siteStateTone(state: string): Tone {
  return state === 'online' ? 'ok' : state === 'offline' ? 'crit' : state === 'stale' ? 'warn' : 'idle';
}

/**
 * A site's data as of now: the cloud's limits (sent with the site, else the defaults both sides
 * share) applied to its newest record's time, re-judged as the clock ticks.
 */
export function siteFreshness(lastTs: number | null, now: number, limits?: FreshnessLimits | null): Freshness {
  return freshness(lastTs, now, limits ?? cloudLimits());
}

/**
 * What the site's state chip says: the link state the site reported, except that a site whose data
 * stopped is not "online" — it shows since when there is no data.
 */
export function shownSiteState(state: string, fresh: Freshness, lastTs: number | null): { state: string; label: string; tone: Tone } {
  if (state === 'offline' || state === 'unknown' || fresh === 'fresh') return { state, label: state, tone: siteStateTone(state) };
  const label = lastTs === null ? 'no data yet' : `no data since ${formatClock(lastTs)}`;
  return { state: 'stale', label, tone: fresh === 'lost' ? 'crit' : 'warn' };
}

export function modeTone(mode: string | null | undefined): Tone {
  switch (mode) {
    case 'NORMAL': return 'ok';
    case 'DERATED': return 'warn';
    case 'SAFE_MODE':
    case 'ESTOP': return 'crit';
    default: return 'idle';
  }
}

export function severityTone(severity: string | null | undefined): Tone {
  return severity === 'critical' ? 'crit' : severity === 'warning' ? 'warn' : severity === 'info' ? 'info' : 'idle';
}

export const LEVEL_NAMES: Record<number, string> = { 1: 'SAFETY', 2: 'GRID', 3: 'OPERATOR', 4: 'SITE', 5: 'ECONOMIC' };

export function levelTone(level: number | null | undefined): Tone {
  if (level === 1) return 'crit';
  if (level === 2) return 'warn';
  if (level === 3) return 'info';
  return level ? 'ok' : 'idle';
}
