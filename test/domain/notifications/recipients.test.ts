// Who receives a site's alarm and who is next when nobody acknowledges it.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { escalates, escalationLadder, escalationRecipients, recipientsOf, type Candidate } from '../../../domain/notifications/recipients';
import { defaultRules, wantsAlarm, type NotificationRules } from '../../../domain/notifications/rules';
import { ROLES, type Role } from '../../../domain/roles';

const user = (role: Role, rules: NotificationRules | null = null, n = 1): Candidate => ({ userId: `${role}-${n}`, email: `${role.toLowerCase()}${n}@x`, role, rules });
const critical = { siteId: 's1', code: 'OVER_TEMPERATURE', severity: 'critical' as const };

describe('notification recipients', () => {
  it('by default every role that can act on the site gets its critical alarms; VIEWER and USER do not', () => {
    const seeing = ROLES.map((r) => user(r));
    assert.deepEqual(recipientsOf(critical, seeing).map((c) => c.role), ['SUPER_ADMIN', 'ADMIN', 'MANAGER', 'TECHNICIAN', 'OPERATOR']);
    assert.deepEqual(recipientsOf({ ...critical, severity: 'warning' }, seeing), [], 'warnings only for those who ask');
  });

  it('rules choose sites, severities and codes, and an opt-out wins', () => {
    const mine: NotificationRules = { email: true, sites: ['s2'], severities: ['warning', 'critical'], codes: ['SOC_OUT_OF_BAND'], quietHours: null, monthlyReport: false };
    assert.equal(wantsAlarm(mine, { siteId: 's2', code: 'SOC_OUT_OF_BAND', severity: 'warning' }), true);
    assert.equal(wantsAlarm(mine, { siteId: 's1', code: 'SOC_OUT_OF_BAND', severity: 'warning' }), false);
    assert.equal(wantsAlarm(mine, { siteId: 's2', code: 'OVER_TEMPERATURE', severity: 'critical' }), false);
    assert.equal(wantsAlarm({ ...defaultRules('OPERATOR'), email: false }, critical), false);
    // A VIEWER may opt in.
    assert.deepEqual(recipientsOf(critical, [user('VIEWER', { ...defaultRules('VIEWER'), email: true })]).map((c) => c.role), ['VIEWER']);
  });

  it('critical alarms and the codes of ESTOP, a lost site and an anomaly escalate', () => {
    assert.equal(escalates(critical), true);
    for (const code of ['ESTOP', 'SITE_OFFLINE', 'COMMUNICATION_LOST', 'ANOMALY']) assert.equal(escalates({ code, severity: 'warning' }), true, code);
    assert.equal(escalates({ code: 'SOC_OUT_OF_BAND', severity: 'warning' }), false);
  });

  it('escalation climbs the roles that are there, skipping empty ones, and ends at the top', () => {
    const seeing = [user('OPERATOR'), user('OPERATOR', null, 2), user('MANAGER'), user('SUPER_ADMIN'), user('VIEWER')];
    assert.deepEqual(escalationLadder(seeing), ['OPERATOR', 'MANAGER', 'SUPER_ADMIN']);
    assert.deepEqual(escalationRecipients(1, seeing).map((c) => c.userId), ['MANAGER-1']);
    assert.deepEqual(escalationRecipients(2, seeing).map((c) => c.userId), ['SUPER_ADMIN-1']);
    assert.deepEqual(escalationRecipients(3, seeing), []);
  });

  it('each rung of the ladder is a higher role than the one below, and only roles that can act (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...ROLES), { maxLength: 20 }), (roles) => {
        const ladder = escalationLadder(roles.map((r, i) => user(r, null, i)));
        for (let i = 1; i < ladder.length; i++) assert.ok(ROLES.indexOf(ladder[i] as Role) < ROLES.indexOf(ladder[i - 1] as Role));
        assert.ok(!ladder.includes('VIEWER') && !ladder.includes('USER'));
        assert.equal(new Set(ladder).size, new Set(roles.filter((r) => r !== 'VIEWER' && r !== 'USER')).size);
      }),
    );
  });
});
