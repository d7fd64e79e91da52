// What the alarm page says of an alarm's notifications: one word for the whole, and the counts
// behind it. Pure: the API computes it for each alarm, the dashboard labels it.
export type DeliveryState = 'queued' | 'held' | 'sent' | 'failed' | 'cancelled';

export interface DeliverySummary {
  /**
   * none: nothing was sent for this alarm (not news, nobody subscribed, or no channel configured);
   * failed: at least one message was given up; retrying: a message failed and waits for its next
   * attempt; queued: on its way; held: waiting for quiet hours to end; sent: every message
   * delivered; cancelled: silenced before delivery.
   */
  state: 'none' | 'failed' | 'retrying' | 'queued' | 'held' | 'sent' | 'cancelled';
  sent: number;
  waiting: number;
  failed: number;
  /** The highest escalation level messaged (0 = none). */
  escalationLevel: number;
}

export function summariseDelivery(rows: readonly { state: DeliveryState; attempts: number; level: number }[]): DeliverySummary {
  const count = (s: DeliveryState) => rows.filter((r) => r.state === s).length;
  const sent = count('sent');
  const failed = count('failed');
  const queued = count('queued');
  const held = count('held');
  const retrying = rows.some((r) => r.state === 'queued' && r.attempts > 0);
  const escalationLevel = rows.reduce((m, r) => Math.max(m, r.level), 0);
  const state: DeliverySummary['state'] = rows.length === 0 ? 'none'
    : failed > 0 ? 'failed'
    : retrying ? 'retrying'
    : queued > 0 ? 'queued'
    : held > 0 ? 'held'
    : sent > 0 ? 'sent'
    : 'cancelled';
  return { state, sent, waiting: queued + held, failed, escalationLevel };
}

const LABELS: Record<DeliverySummary['state'], string> = {
  none: 'not notified',
  failed: 'delivery failed',
  retrying: 'retrying',
  queued: 'sending',
  held: 'held (quiet hours)',
  sent: 'notified',
  cancelled: 'cancelled',
};

/** A short label for the alarm page, e.g. "notified (3), escalated to level 1" or "held (quiet hours), 2 sent". */
export function deliveryLabel(d: DeliverySummary): string {
  const n = d.state === 'sent' ? ` (${d.sent})` : d.state === 'failed' ? ` (${d.failed} of ${d.sent + d.waiting + d.failed})` : d.sent > 0 ? `, ${d.sent} sent` : '';
  return `${LABELS[d.state]}${n}${d.escalationLevel > 0 ? `, escalated to level ${d.escalationLevel}` : ''}`;
}
