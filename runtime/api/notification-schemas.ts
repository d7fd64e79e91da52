// Request schemas of the notification routes (routes.ts).
import { z } from 'zod';
import { SEVERITIES } from '../../domain/notifications/rules';
import { NotificationRulesSchema } from '../notify/rules-schema';

export { NotificationRulesSchema };

// zod runs a refinement even when the URL check before it failed: parse defensively.
function withoutCredentials(u: string): boolean {
  try {
    const url = new URL(u);
    return !url.username && !url.password;
  } catch {
    return false;
  }
}

export const WebhookParams = z.strictObject({ id: z.uuid() });

export const CreateWebhookBody = z.strictObject({
  /** http(s) only; credentials belong in the signature, not the URL. */
  url: z.url({ protocol: /^https?$/ }).max(2000).refine(withoutCredentials, 'no user or password in the URL: the signature authenticates the sender'),
  minSeverity: z.enum(SEVERITIES).default('critical'),
});

export const DeliveriesQuery = z.strictObject({ limit: z.string().regex(/^\d{1,4}$/, 'a whole number').transform(Number).pipe(z.number().int().min(1).max(1000)).optional() });
