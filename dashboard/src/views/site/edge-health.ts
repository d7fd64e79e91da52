// How the site's edge keeps up, from the newest record the dashboard has: how far that record is
// behind now, how many records the edge still held unacknowledged when it made it (and how old the
// oldest was), and its last control cycle. A site can be online (its MQTT link is up) while its
// data is an hour behind, when the edge sends a backlog oldest first: that is said, not hidden.
// Judged with the cloud's freshness limits (domain/freshness.ts); what is not fresh is last known.
import type { Tone } from '../../components/StatusChip.vue';
import type { Freshness } from '../../components/status';

export type EdgeVerdict = 'unknown' | 'current' | 'behind' | 'stale' | 'lost';

export interface EdgeHealthInput {
  /** The site's latest fields (edgeBufferDepth, edgeOldestUnsentS, controlCycleMs). */
  fields: Record<string, number>;
  /** Time of the newest record, ms; null before the first. */
  lastTs: number | null;
  now: number;
  freshness: Freshness;
  /** The site's link state as it reported it: 'online', 'offline' or 'unknown'. */
  state: string;
}

export interface EdgeHealthView {
  verdict: EdgeVerdict;
  tone: Tone;
  headline: string;
  /** now minus the newest record's time, ms. */
  lagMs: number | null;
  lag: string;
  backlog: string;
  cycle: string;
  /** The figures come from a record that is not fresh: shown as last known. */
  lastKnown: boolean;
}

const DASH = '—';

/** 950 -> "950 ms", 12_400 -> "12 s", 3_725_000 -> "1 h 2 min", 2 d 5 h -> "2 d 5 h". */
export function formatLag(ms: number): string {
  if (!Number.isFinite(ms)) return DASH;
  const a = Math.max(0, ms);
  if (a < 1000) return `${Math.round(a)} ms`;
  const s = Math.floor(a / 1000);
  if (s < 60) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min${s % 60 ? ` ${s % 60} s` : ''}`;
  const h = Math.floor(min / 60);
  if (h < 24) return `${h} h${min % 60 ? ` ${min % 60} min` : ''}`;
  return `${Math.floor(h / 24)} d${h % 24 ? ` ${h % 24} h` : ''}`;
}

function num(v: number | undefined): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

export function edgeHealth(i: EdgeHealthInput): EdgeHealthView {
  const depth = i.fields.edgeBufferDepth;
  const oldestS = i.fields.edgeOldestUnsentS;
  const cycleMs = i.fields.controlCycleMs;
  const backlog = !num(depth)
    ? 'not reported'
    : depth === 0 ? 'none' : `${depth} record${depth === 1 ? '' : 's'}${num(oldestS) && oldestS > 0 ? `, oldest ${formatLag(oldestS * 1000)}` : ''}`;
  const cycle = num(cycleMs) ? `${cycleMs < 10 ? cycleMs.toFixed(1) : Math.round(cycleMs)} ms` : 'not reported';
  if (i.lastTs === null) {
    return { verdict: 'unknown', tone: 'idle', headline: 'No record received yet', lagMs: null, lag: DASH, backlog: DASH, cycle: DASH, lastKnown: false };
  }
  const lagMs = Math.max(0, i.now - i.lastTs);
  const lag = formatLag(lagMs);
  const base = { lagMs, lag, backlog, cycle };
  if (i.freshness === 'fresh') return { ...base, verdict: 'current', tone: 'ok', headline: 'Up to date', lastKnown: false };
  if (i.state === 'online') {
    return {
      ...base, verdict: 'behind', tone: i.freshness === 'lost' ? 'crit' : 'warn', lastKnown: true,
      headline: `Online, but its data is ${lag} behind${num(depth) && depth > 0 ? ': the edge is sending its backlog' : ''}`,
    };
  }
  return { ...base, verdict: i.freshness, tone: i.freshness === 'lost' ? 'crit' : 'warn', headline: `No data for ${lag}`, lastKnown: true };
}
