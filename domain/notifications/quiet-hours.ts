// Quiet hours: a daily window of local time in an IANA time zone during which a user's e-mails are
// held back and sent when the window ends (README, "Notifications"). Local time comes from Intl, so
// daylight-saving changes follow the zone's own rules; the module stays pure (no clock of its own).
import type { QuietHours } from './rules';

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;

export function parseHhmm(s: string): number | null {
  const m = HHMM.exec(s);
  return m ? Number(m[1]) * 60 + Number(m[2]) : null;
}

/** Whether `timeZone` is a zone Intl knows. */
export function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone });
    return true;
  } catch {
    return false;
  }
}

const formats = new Map<string, Intl.DateTimeFormat>();

/** Minutes since local midnight in `timeZone` at `ts` (ms epoch). */
export function localMinutes(ts: number, timeZone: string): number {
  let f = formats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formats.set(timeZone, f);
  }
  let h = 0;
  let m = 0;
  for (const p of f.formatToParts(new Date(ts))) {
    if (p.type === 'hour') h = Number(p.value);
    else if (p.type === 'minute') m = Number(p.value);
  }
  return h * 60 + m;
}

/** Whether `ts` falls inside the quiet hours; a window whose start equals its end is empty. */
export function inQuietHours(ts: number, q: QuietHours | null): boolean {
  if (!q) return false;
  const start = parseHhmm(q.start);
  const end = parseHhmm(q.end);
  if (start === null || end === null || start === end) return false;
  const t = localMinutes(ts, q.timeZone);
  return start < end ? t >= start && t < end : t >= start || t < end;
}

/**
 * The first moment at or after `ts` outside the quiet hours: `ts` itself when it is outside. The
 * jump to the window's end is computed in local minutes, then corrected a minute at a time, so a
 * daylight-saving shift inside the window cannot land the result inside it.
 */
export function deliverAt(ts: number, q: QuietHours | null): number {
  if (!inQuietHours(ts, q)) return ts;
  const end = parseHhmm((q as QuietHours).end) as number;
  const now = localMinutes(ts, (q as QuietHours).timeZone);
  const startOfMinute = ts - (((ts % 60_000) + 60_000) % 60_000);
  let t = startOfMinute + (((end - now + 1440) % 1440) || 1440) * 60_000;
  // A window holds at most a day (plus an hour of daylight-saving shift): the loop is bounded.
  for (let i = 0; i < 1500 && inQuietHours(t, q); i++) t += 60_000;
  // Back off to the window's first free minute when the jump overshot (a shift the other way).
  while (t - 60_000 > ts && !inQuietHours(t - 60_000, q)) t -= 60_000;
  return t;
}
