// Who receives a site's alarm, and who is next when nobody acknowledged it (README,
// "Notifications"). Pure: the notifier passes in every user who sees the site, with their rules.
import { ROLES, type Role } from '../roles';
import { rank } from '../permissions';
import { canAct, defaultRules, wantsAlarm, type AlarmFacts, type NotificationRules, type Severity } from './rules';

export interface Candidate {
  userId: string;
  email: string;
  role: Role;
  /** The user's saved rules, or null for the defaults of the role. */
  rules: NotificationRules | null;
}

/** The users among `seeing` (everyone who sees the alarm's site) whose rules ask for the alarm. */
export function recipientsOf(a: AlarmFacts, seeing: readonly Candidate[]): Candidate[] {
  return seeing.filter((c) => wantsAlarm(c.rules ?? defaultRules(c.role), a));
}

/**
 * The codes the names stand for: ESTOP is the edge's e-stop alarm; SAFE_MODE is no alarm
 * code of its own but the mode every critical edge alarm puts the site in, so every critical alarm
 * escalates; SITE_OFFLINE is raised on the MQTT last will and COMMUNICATION_LOST when the cloud
 * hears no telemetry; ANOMALY is the anomaly model's alarm, escalated whatever its severity.
 */
export const ESCALATING_CODES: ReadonlySet<string> = new Set(['ESTOP', 'SITE_OFFLINE', 'COMMUNICATION_LOST', 'ANOMALY']);

export function escalates(a: { code: string; severity: Severity }): boolean {
  return a.severity === 'critical' || ESCALATING_CODES.has(a.code);
}

/**
 * The escalation ladder of a site: the roles that can act on an alarm and have at least one user
 * who sees the site, lowest first (OPERATOR, TECHNICIAN, ... SUPER_ADMIN, skipping empty roles).
 * Level 0 is the first responders; level n goes to the users of ladder[n].
 */
export function escalationLadder(seeing: readonly Candidate[]): Role[] {
  const present = new Set(seeing.filter((c) => canAct(c.role)).map((c) => c.role));
  return [...ROLES].filter((r) => present.has(r)).sort((a, b) => rank(b) - rank(a));
}

/**
 * Who gets escalation `level` (1 = first escalation): the users of that rung of the ladder who did
 * not opt out of e-mail. Escalation ignores the severity and code filters (it is not a choice
 * of subscription but a duty of the role); empty when the ladder has no such rung.
 */
export function escalationRecipients(level: number, seeing: readonly Candidate[]): Candidate[] {
  const role = escalationLadder(seeing)[level];
  if (role === undefined) return [];
  return seeing.filter((c) => c.role === role && (c.rules ?? defaultRules(c.role)).email);
}
