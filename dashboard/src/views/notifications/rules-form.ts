// The notification settings form and the rules it stands for (domain/notifications/rules.ts):
// turning the API's rules into form fields and back, with the same checks the API makes, so a
// person sees a mistake before saving; and a sentence on what the quiet hours do right now.
import { deliverAt, inQuietHours, isTimeZone, parseHhmm } from '../../../../domain/notifications/quiet-hours';
import { SEVERITIES, type NotificationRules, type Severity } from '../../../../domain/notifications/rules';

export { SEVERITIES, type NotificationRules, type Severity };

export interface RulesForm {
  email: boolean;
  allSites: boolean;
  sites: string[];
  severities: Severity[];
  allCodes: boolean;
  /** Alarm codes, separated by commas or spaces. */
  codes: string;
  quiet: boolean;
  quietStart: string;
  quietEnd: string;
  timeZone: string;
  monthlyReport: boolean;
}

export function toForm(r: NotificationRules, browserZone: string): RulesForm {
  return {
    email: r.email,
    allSites: r.sites === 'all',
    sites: r.sites === 'all' ? [] : [...r.sites],
    severities: [...r.severities],
    allCodes: r.codes === 'all',
    codes: r.codes === 'all' ? '' : r.codes.join(', '),
    quiet: r.quietHours !== null,
    quietStart: r.quietHours?.start ?? '22:00',
    quietEnd: r.quietHours?.end ?? '07:00',
    timeZone: r.quietHours?.timeZone ?? browserZone,
    monthlyReport: r.monthlyReport,
  };
}

const CODE = /^[A-Z][A-Z0-9_]{0,63}$/;

export function parseCodes(text: string): { codes: string[]; bad: string[] } {
  const words = text.split(/[\s,;]+/).map((w) => w.trim().toUpperCase()).filter(Boolean);
  const codes = [...new Set(words.filter((w) => CODE.test(w)))];
  return { codes, bad: words.filter((w) => !CODE.test(w)) };
}

/** The rules to save, or what is wrong with the form (field -> message). */
export function fromForm(f: RulesForm): { rules: NotificationRules } | { errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  if (!f.allSites && f.sites.length === 0) errors.sites = 'Pick at least one site, or all sites.';
  const { codes, bad } = parseCodes(f.codes);
  if (!f.allCodes && bad.length) errors.codes = `Not alarm codes: ${bad.join(', ')}`;
  else if (!f.allCodes && codes.length === 0) errors.codes = 'Name at least one alarm code, or all codes.';
  if (f.quiet) {
    if (parseHhmm(f.quietStart) === null) errors.quietStart = 'A time of day, HH:MM.';
    if (parseHhmm(f.quietEnd) === null) errors.quietEnd = 'A time of day, HH:MM.';
    if (!errors.quietStart && !errors.quietEnd && f.quietStart === f.quietEnd) errors.quietEnd = 'Start and end are the same: no quiet hours.';
    if (!isTimeZone(f.timeZone)) errors.timeZone = 'A time zone such as Europe/Berlin.';
  }
  if (Object.keys(errors).length) return { errors };
  return {
    rules: {
      email: f.email,
      sites: f.allSites ? 'all' : [...f.sites],
      severities: SEVERITIES.filter((s) => f.severities.includes(s)),
      codes: f.allCodes ? 'all' : codes,
      quietHours: f.quiet ? { start: f.quietStart, end: f.quietEnd, timeZone: f.timeZone } : null,
      monthlyReport: f.monthlyReport,
    },
  };
}

/** What the rules mean right now, in a sentence. */
export function rulesSummary(r: NotificationRules, emailConfigured: boolean, now: number): string {
  if (!emailConfigured) return 'The cloud has no mail server configured: no e-mail is sent to anyone.';
  if (!r.email) return 'You receive no alarm e-mails (escalations included) and no monthly reports.';
  const sev = r.severities.length ? r.severities.join(', ') : 'no';
  const sites = r.sites === 'all' ? 'all your sites' : `${r.sites.length} site${r.sites.length === 1 ? '' : 's'}`;
  const codes = r.codes === 'all' ? '' : ` (only ${r.codes.join(', ')})`;
  let s = `You receive ${sev} alarms of ${sites}${codes} by e-mail${r.monthlyReport ? ", and their monthly reports on the first of the month" : ''}.`;
  const q = r.quietHours;
  if (q) {
    if (inQuietHours(now, q)) {
      const until = new Intl.DateTimeFormat('en-GB', { timeZone: q.timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(deliverAt(now, q)));
      s += ` Quiet hours now: mail waits until ${until} (${q.timeZone}).`;
    } else s += ` Quiet hours ${q.start}-${q.end} (${q.timeZone}).`;
  }
  return s;
}
