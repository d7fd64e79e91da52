import { describe, expect, it } from 'vitest';
import { fromForm, parseCodes, rulesSummary, toForm } from '../../../src/views/notifications/rules-form';
import type { NotificationRules } from '../../../src/views/notifications/notification-types';
import { deliveryLabel, summariseDelivery } from '../../../../domain/notifications/delivery';

const defaults: NotificationRules = { email: true, sites: 'all', severities: ['critical'], codes: 'all', quietHours: null, monthlyReport: false };

describe('notification settings form', () => {
  it('round-trips rules through the form unchanged', () => {
    const rules: NotificationRules = { email: true, sites: ['s1', 's2'], severities: ['warning', 'critical'], codes: ['ESTOP', 'OVER_TEMPERATURE'], quietHours: { start: '22:00', end: '06:30', timeZone: 'Europe/Berlin' }, monthlyReport: true };
    expect(fromForm(toForm(rules, 'UTC'))).toEqual({ rules });
    expect(fromForm(toForm(defaults, 'UTC'))).toEqual({ rules: defaults });
  });

  it('offers quiet hours in the browser zone until the person picks one', () => {
    const f = toForm(defaults, 'America/New_York');
    expect(f.quiet).toBe(false);
    expect(f.timeZone).toBe('America/New_York');
  });

  it('refuses what the API would refuse, naming the field', () => {
    const f = { ...toForm(defaults, 'UTC'), allSites: false, sites: [], allCodes: false, codes: 'over_temperature, 9lives', quiet: true, quietStart: '25:00', quietEnd: '07:00', timeZone: 'Mars/Base' };
    const r = fromForm(f);
    expect('errors' in r && Object.keys(r.errors).sort()).toEqual(['codes', 'quietStart', 'sites', 'timeZone']);
    expect(fromForm({ ...toForm(defaults, 'UTC'), quiet: true, quietStart: '07:00', quietEnd: '07:00' })).toMatchObject({ errors: { quietEnd: expect.stringMatching(/same/) } });
  });

  it('reads codes in any case, separated by commas or spaces', () => {
    expect(parseCodes('estop, over_temperature  ESTOP;site_offline')).toEqual({ codes: ['ESTOP', 'OVER_TEMPERATURE', 'SITE_OFFLINE'], bad: [] });
  });

  it('says in a sentence what the rules do now', () => {
    const at = Date.parse('2026-12-07T23:00:00Z');
    expect(rulesSummary(defaults, false, at)).toMatch(/no mail server/);
    expect(rulesSummary({ ...defaults, email: false }, true, at)).toMatch(/no alarm e-mails/);
    expect(rulesSummary({ ...defaults, quietHours: { start: '22:00', end: '07:00', timeZone: 'UTC' } }, true, at)).toBe(
      'You receive critical alarms of all your sites by e-mail. Quiet hours now: mail waits until 07:00 (UTC).',
    );
  });

  it("labels an alarm's delivery state", () => {
    expect(deliveryLabel(summariseDelivery([{ state: 'held', attempts: 0, level: 0 }]))).toBe('held (quiet hours)');
    expect(deliveryLabel(summariseDelivery([{ state: 'queued', attempts: 2, level: 0 }]))).toBe('retrying');
  });
});
