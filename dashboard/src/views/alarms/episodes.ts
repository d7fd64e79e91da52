// The alarms page's episodes: the API names each alarm's episode by its root alarm's id
// (domain/alarm-episodes.ts has the rule); here the open alarms are gathered under their roots so
// one root event is one card, acknowledged at once. Pure: tested alone.
import type { AlarmView, Severity } from '../../api/types';
import { needsAttention, SEVERITY_RANK } from '../../stores/alarms';

export interface Episode {
  id: number;
  siteId: string;
  /** The root alarm, or the earliest member when the root is no longer open. */
  root: AlarmView;
  /** The root is among `alarms` (else it cleared while its consequences stay open). */
  rootOpen: boolean;
  /** The alarms the root set off, oldest first. */
  consequences: AlarmView[];
  /** Worst severity of the open members. */
  severity: Severity;
  /** Members that still need an acknowledgement. */
  active: number;
  /** Members needing attention now (active, not silenced). */
  attention: number;
  /** Newest raise of a member, ms. */
  latest: number;
}

export function groupEpisodes(alarms: readonly AlarmView[], now = Date.now()): Episode[] {
  const byId = new Map<number, AlarmView[]>();
  for (const a of alarms) byId.set(a.episodeId, [...(byId.get(a.episodeId) ?? []), a]);
  const out: Episode[] = [];
  for (const [id, members] of byId) {
    const sorted = [...members].sort((a, b) => Date.parse(a.raisedAt) - Date.parse(b.raisedAt) || a.id - b.id);
    const rootAt = sorted.findIndex((a) => a.id === id);
    const root = sorted[rootAt >= 0 ? rootAt : 0] as AlarmView;
    out.push({
      id, siteId: root.siteId, root, rootOpen: rootAt >= 0,
      consequences: sorted.filter((a) => a !== root),
      severity: sorted.reduce<Severity>((w, a) => (SEVERITY_RANK[a.severity] < SEVERITY_RANK[w] ? a.severity : w), 'info'),
      active: sorted.filter((a) => a.state === 'active').length,
      attention: sorted.filter((a) => needsAttention(a, now)).length,
      latest: Math.max(...sorted.map((a) => Date.parse(a.raisedAt))),
    });
  }
  // Most severe first, then the newest.
  return out.sort((a, b) => SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] || b.latest - a.latest);
}

/** The episode's state in a word: active while any member awaits an acknowledgement. */
export function episodeState(e: Episode): 'active' | 'silenced' | 'acknowledged' {
  if (e.active === 0) return 'acknowledged';
  return e.attention === 0 ? 'silenced' : 'active';
}
