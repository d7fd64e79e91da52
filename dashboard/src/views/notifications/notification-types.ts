// What the notification routes answer (runtime/api/notification-handlers.ts).
import type { NotificationRules, Severity } from '../../../../domain/notifications/rules';

export type { NotificationRules };

export interface Delivery {
  id: number;
  channel: 'email' | 'webhook';
  recipient: string;
  kind: 'alarm' | 'escalation' | 'test' | 'mail';
  level: number;
  state: 'queued' | 'held' | 'sent' | 'failed' | 'cancelled';
  attempts: number;
  createdAt: string;
  nextAttemptAt: string | null;
  sentAt: string | null;
  lastError: string | null;
  lastStatus: number | null;
}

export interface MyNotifications {
  rules: NotificationRules;
  /** False while the defaults of the role apply. */
  saved: boolean;
  emailConfigured: boolean;
  email: string;
  actsOnAlarms: boolean;
  escalateAfterS: number;
  sites: string[];
  recent: Delivery[];
}

export interface Webhook {
  id: string;
  orgId: string;
  url: string;
  minSeverity: Severity;
  createdBy: string | null;
  createdAt: string;
}

export type NewWebhook = Webhook & { secret: string };
