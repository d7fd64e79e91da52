// The words of alarm notifications: the e-mail's subject and text, and the webhook's JSON body.
import type { AlarmView } from '../api/alarms';

export type AlarmNotice = Pick<AlarmView, 'id' | 'siteId' | 'code' | 'severity' | 'message' | 'raisedAt' | 'episodeId' | 'remedy' | 'state'>;

export function alarmMail(a: AlarmNotice, level: number, escalateAfterMs: number): { subject: string; text: string } {
  const head = `${a.severity.toUpperCase()} ${a.code} at ${a.siteId}`;
  const minutes = Math.round((level * escalateAfterMs) / 60_000);
  const waited = minutes >= 1 ? `${minutes} min` : `${Math.round((level * escalateAfterMs) / 1000)} s`;
  const subject = level === 0 ? `[LiFePO4 EMS] ${head}` : `[LiFePO4 EMS] ESCALATED (level ${level}): ${head}, not acknowledged for ${waited}`;
  const lines = [
    level > 0 ? `Nobody acknowledged this alarm within ${waited}: you are next in line.` : null,
    `Site: ${a.siteId}`,
    `Alarm: ${a.code} (${a.severity})`,
    `What the site saw: ${a.message}`,
    `Raised at: ${a.raisedAt}`,
    `What to do: ${a.remedy}`,
    '',
    `Acknowledge or silence it on the dashboard's alarm page (alarm ${a.id}); that stops the escalation.`,
  ];
  return { subject, text: lines.filter((l) => l !== null).join('\n') };
}

export interface WebhookBody {
  event: 'alarm.raised' | 'alarm.escalated' | 'test';
  level: number;
  alarm: AlarmNotice | null;
  ts: string;
}

export function alarmWebhook(a: AlarmNotice, level: number, now: number): WebhookBody {
  return { event: level === 0 ? 'alarm.raised' : 'alarm.escalated', level, alarm: a, ts: new Date(now).toISOString() };
}

export function notice(a: AlarmView): AlarmNotice {
  return { id: a.id, siteId: a.siteId, code: a.code, severity: a.severity, message: a.message, raisedAt: a.raisedAt, episodeId: a.episodeId, remedy: a.remedy, state: a.state };
}
