// German public holidays computed in code, nationally and per federal state (Feiertagsgesetze of
// the Länder; the national ones by the Einigungsvertrag Art. 2). Movable feasts hang off Easter
// Sunday, found with the anonymous Gregorian algorithm (Meeus/Jones/Butcher). Dates are calendar
// days: a day is identified by its 00:00 as ms since the epoch in UTC (the data's local calendar).
import { z } from 'zod';

/** ISO 3166-2:DE state codes, plus 'DE' for the national holidays only. */
export const RegionSchema = z.enum(['DE', 'BW', 'BY', 'BE', 'BB', 'HB', 'HH', 'HE', 'MV', 'NI', 'NW', 'RP', 'SL', 'SN', 'ST', 'SH', 'TH']);
export type Region = z.infer<typeof RegionSchema>;

const DAY_MS = 86_400_000;

/** Easter Sunday of a Gregorian year as ms (00:00 UTC). */
export function easterSunday(year: number): number {
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return Date.UTC(year, month - 1, day);
}

export interface Holiday {
  day: number;
  name: string;
}

const in_ = (region: Region, states: readonly Region[]): boolean => states.includes(region);

/** The public holidays of `region` in `year`, sorted by day. */
export function publicHolidays(year: number, region: Region): Holiday[] {
  const easter = easterSunday(year);
  const fixed = (month: number, day: number): number => Date.UTC(year, month - 1, day);
  const out: Holiday[] = [
    { day: fixed(1, 1), name: 'Neujahr' },
    { day: easter - 2 * DAY_MS, name: 'Karfreitag' },
    { day: easter + DAY_MS, name: 'Ostermontag' },
    { day: fixed(5, 1), name: 'Tag der Arbeit' },
    { day: easter + 39 * DAY_MS, name: 'Christi Himmelfahrt' },
    { day: easter + 50 * DAY_MS, name: 'Pfingstmontag' },
    { day: fixed(10, 3), name: 'Tag der Deutschen Einheit' },
    { day: fixed(12, 25), name: '1. Weihnachtstag' },
    { day: fixed(12, 26), name: '2. Weihnachtstag' },
  ];
  if (in_(region, ['BW', 'BY', 'ST'])) out.push({ day: fixed(1, 6), name: 'Heilige Drei Könige' });
  // Frauentag: Berlin since 2019, Mecklenburg-Vorpommern since 2023.
  if ((region === 'BE' && year >= 2019) || (region === 'MV' && year >= 2023)) out.push({ day: fixed(3, 8), name: 'Internationaler Frauentag' });
  // Berlin's one-off Tag der Befreiung (75th and 80th anniversary).
  if (region === 'BE' && (year === 2020 || year === 2025)) out.push({ day: fixed(5, 8), name: 'Tag der Befreiung' });
  if (region === 'BB') {
    out.push({ day: easter, name: 'Ostersonntag' }, { day: easter + 49 * DAY_MS, name: 'Pfingstsonntag' });
  }
  if (in_(region, ['BW', 'BY', 'HE', 'NW', 'RP', 'SL'])) out.push({ day: easter + 60 * DAY_MS, name: 'Fronleichnam' });
  // Mariä Himmelfahrt: Saarland, and Bavaria's communities with a Catholic majority (Munich among them).
  if (in_(region, ['SL', 'BY'])) out.push({ day: fixed(8, 15), name: 'Mariä Himmelfahrt' });
  if (region === 'TH' && year >= 2019) out.push({ day: fixed(9, 20), name: 'Weltkindertag' });
  // Reformationstag: the eastern states; the northern states since 2018; everywhere in 2017 (500 years).
  if (in_(region, ['BB', 'MV', 'SN', 'ST', 'TH']) || (in_(region, ['HB', 'HH', 'NI', 'SH']) && year >= 2018) || year === 2017) {
    out.push({ day: fixed(10, 31), name: 'Reformationstag' });
  }
  if (in_(region, ['BW', 'BY', 'NW', 'RP', 'SL'])) out.push({ day: fixed(11, 1), name: 'Allerheiligen' });
  if (region === 'SN') {
    // Buß- und Bettag: the Wednesday before 23 November, i.e. the Wednesday in 16..22 November.
    const nov16 = fixed(11, 16);
    const dow = new Date(nov16).getUTCDay();
    out.push({ day: nov16 + ((3 - dow + 7) % 7) * DAY_MS, name: 'Buß- und Bettag' });
  }
  return out.sort((x, y) => x.day - y.day);
}

const cache = new Map<string, Set<number>>();

/** True when the calendar day containing `ms` is a public holiday in `region`. */
export function isPublicHoliday(ms: number, region: Region): boolean {
  const day = Math.floor(ms / DAY_MS) * DAY_MS;
  const year = new Date(day).getUTCFullYear();
  const key = `${region}:${year}`;
  let set = cache.get(key);
  if (!set) {
    set = new Set(publicHolidays(year, region).map((h) => h.day));
    cache.set(key, set);
  }
  return set.has(day);
}
