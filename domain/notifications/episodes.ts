// One message per alarm episode, not per flap (README, "Notifications"). An alarm is news unless
//  - it belongs to an episode already handled (domain/alarm-episodes.ts names the episode by its
//    root: the knock-on alarms of an over-temperature share its root; `handled` maps every alarm
//    the notifier has seen to the episode it was counted in, so the knock-on alarms of a flap
//    count in the first episode too), or
//  - the same code of the same site was notified and was last active (raised or cleared) within
//    EPISODE_WINDOW_MS before: a value flapping over a limit is cleared and raised again as new
//    alarms, and each comes back within the window of the last.
// Pure: the notifier keeps the state in cloud.db and passes it in.
import { EPISODE_WINDOW_MS } from '../alarm-episodes';

export interface NotifiedEpisode {
  siteId: string;
  code: string;
  /** Root alarm id of the episode notified. */
  episodeId: number;
  /** Last raise or clear of this code at this site since the notification, ms epoch. */
  lastActive: number;
}

export interface RaisedAlarm {
  id: number;
  siteId: string;
  code: string;
  episodeId: number;
  raisedAt: number;
}

/**
 * The episode already notified that this alarm continues, or null when the alarm is news.
 * `handled(id)` is the episode an earlier alarm was counted in (undefined when not seen).
 */
export function continuedEpisode(
  a: RaisedAlarm, notified: readonly NotifiedEpisode[], handled: (alarmId: number) => number | undefined = () => undefined, windowMs = EPISODE_WINDOW_MS,
): number | null {
  const root = a.episodeId === a.id ? undefined : handled(a.episodeId);
  if (root !== undefined) return root;
  for (const e of notified) {
    if (e.siteId !== a.siteId) continue;
    if (e.episodeId === a.episodeId) return e.episodeId;
    if (e.code === a.code && a.raisedAt - e.lastActive <= windowMs && a.raisedAt >= e.lastActive - windowMs) return e.episodeId;
  }
  return null;
}
