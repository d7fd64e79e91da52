// Handlers of the notification routes: a user's own rules and test e-mail, and the organisation's
// webhooks (README, "Notifications").
import { ApiError, conflict, notFound } from './errors';
import { canAct } from '../../domain/notifications/rules';
import type { Handlers, Services } from './services';
import type { Principal } from './tokens';

type NotificationRoutes = 'myNotifications' | 'setMyNotifications' | 'testMyNotifications' | 'listWebhooks' | 'createWebhook' | 'deleteWebhook' | 'testWebhook' | 'webhookDeliveries';

/** The organisation whose webhooks a caller manages: its own, or every one for SUPER_ADMIN. */
const orgScope = (p: Principal) => (p.role === 'SUPER_ADMIN' ? null : p.orgId);

export function notificationHandlers(s: Services, opts: { escalateAfterS: number }): Pick<Handlers, NotificationRoutes> {
  const mine = async (p: Principal) => {
    const { rules, saved } = await s.notifier.effectiveRules(p.userId, p.role);
    return {
      rules, saved,
      emailConfigured: s.notifier.emailConfigured,
      email: p.email,
      /** Whether my role acts on alarms: critical alarms reach me by default and escalations may. */
      actsOnAlarms: canAct(p.role),
      escalateAfterS: opts.escalateAfterS,
      sites: (await s.sites.visible(p)).map((r) => r.id),
      recent: await s.notifier.outbox.forRecipient('email', p.email, 10),
    };
  };
  const webhook = async (p: Principal, id: string) => {
    const w = await s.webhooks.get(id, orgScope(p));
    if (!w) throw notFound(`webhook ${id}`);
    return w;
  };
  return {
    async myNotifications({ principal }) {
      return { body: await mine(principal) };
    },

    async setMyNotifications({ principal, body }) {
      if (body.sites !== 'all') {
        const visible = new Set((await s.sites.visible(principal)).map((r) => r.id));
        const unseen = body.sites.filter((id) => !visible.has(id));
        if (unseen.length) throw new ApiError(400, 'invalid_request', `sites you do not see: ${unseen.join(', ')}`, { issues: [{ path: 'body.sites', message: 'not among your sites' }] });
      }
      await s.notifier.setRules(principal.userId, body);
      return { body: await mine(principal), audit: { target: `notification rules of ${principal.email}`, details: { rules: body } } };
    },

    async testMyNotifications({ principal }) {
      if (!s.notifier.emailConfigured) throw conflict('no SMTP server is configured: start the cloud with --smtp-url (README, "Notifications")');
      const id = await s.notifier.enqueueMail({
        to: principal.email,
        subject: '[LiFePO4 EMS] test e-mail',
        text: `This is a test from LiFePO4 EMS, sent to ${principal.email} at your request. Alarm e-mails will reach you here.`,
      }, { userId: principal.userId, kind: 'test' });
      return { body: { id, to: principal.email, state: 'queued' } };
    },

    async listWebhooks({ principal }) {
      return { body: { webhooks: await s.webhooks.list(orgScope(principal)) } };
    },

    async createWebhook({ principal, body }) {
      const w = await s.webhooks.create({ orgId: principal.orgId, url: body.url, minSeverity: body.minSeverity, createdBy: principal.email });
      // The secret is in the answer only: the audit log names the webhook, never its secret.
      return { body: w, audit: { target: `webhook ${w.id}`, details: { url: w.url, minSeverity: w.minSeverity } } };
    },

    async deleteWebhook({ principal, params }) {
      const w = await s.webhooks.remove(params.id, orgScope(principal));
      return { body: w, audit: { target: `webhook ${w.id}`, details: { url: w.url } } };
    },

    async testWebhook({ principal, params }) {
      const w = await webhook(principal, params.id);
      return { body: { id: await s.notifier.enqueueWebhookTest(w.id), webhookId: w.id, state: 'queued' }, audit: { target: `webhook ${w.id}` } };
    },

    async webhookDeliveries({ principal, params, query }) {
      const w = await webhook(principal, params.id);
      return { body: { webhook: w, deliveries: await s.notifier.outbox.forRecipient('webhook', w.id, query.limit ?? 100) } };
    },
  };
}
