// A user's notification rules (README, "Notifications"): which sites (or every site the user may
// see), which severities and alarm codes, quiet hours in the user's time zone, and whether e-mail
// is wanted at all. A user who never saved rules has the defaults: a user whose role can act on a
// site gets its critical alarms by e-mail (so a new installation notifies someone), anyone else gets
// nothing until they opt in. Pure: the cloud's notifier and the dashboard's settings page share it.
import type { Role } from '../roles';
import { hasPermission } from '../permissions';

export const SEVERITIES = ['info', 'warning', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface QuietHours {
  /** Local time of day the quiet hours start, 'HH:MM' (24 h). */
  start: string;
  /** Local time of day they end, 'HH:MM'; before start means the window runs over midnight. */
  end: string;
  /** IANA time zone the times are in, e.g. 'Europe/Berlin'. */
  timeZone: string;
}

export interface NotificationRules {
  /** E-mail at all (false = opted out, escalations included). */
  email: boolean;
  /** 'all' = every site the user may see, now and later; else these ids (still only those the user sees). */
  sites: 'all' | readonly string[];
  severities: readonly Severity[];
  /** 'all' codes, or only these alarm codes. */
  codes: 'all' | readonly string[];
  quietHours: QuietHours | null;
  /** Last month's report of each of these sites by e-mail on the first of the month (README, "Monthly report"). */
  monthlyReport: boolean;
}

/** What a user gets before saving rules of their own (see the top). */
export function defaultRules(role: Role): NotificationRules {
  return { email: canAct(role), sites: 'all', severities: ['critical'], codes: 'all', quietHours: null, monthlyReport: false };
}

/** Whether a role can act on an alarm of a site it sees (acknowledge it): the roles notified by default. */
export function canAct(role: Role): boolean {
  return hasPermission(role, 'alarms:ack');
}

export interface AlarmFacts {
  siteId: string;
  code: string;
  severity: Severity;
}

/** Whether the rules ask for a site's monthly report (visibility of the site is the caller's to check). */
export function wantsMonthlyReport(rules: NotificationRules, siteId: string): boolean {
  return rules.email && rules.monthlyReport && (rules.sites === 'all' || rules.sites.includes(siteId));
}

/** Whether the rules ask for this alarm (visibility of the site is the caller's to check). */
export function wantsAlarm(rules: NotificationRules, a: AlarmFacts): boolean {
  if (!rules.email) return false;
  if (rules.sites !== 'all' && !rules.sites.includes(a.siteId)) return false;
  if (!rules.severities.includes(a.severity)) return false;
  return rules.codes === 'all' || rules.codes.includes(a.code);
}
