// Handlers of the strategy settings routes (README, "Remote strategy settings"). A PUT numbers the
// document (the site's last version + 1), sends it through the fleet hub's command path as a signed
// 'settings' command and answers with what the site did: the edge checks it against the site's
// limits and acknowledges 'executed' once applied and kept, 'rejected' with the reasons otherwise.
// Only an applied document is stored here, so GET says what the site last applied.
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { CommandAck, SiteSettings, SiteSettingsFields } from '../../domain/contracts';
import { DEFAULT_SETTINGS_FIELDS } from '../../domain/site-settings/settings';
import { FleetUnavailableError } from '../../io/fleet-hub';
import { ApiError, unavailable } from './errors';
import { COMMAND_VALID_S } from './fleet-handlers';
import type { Handlers, Services } from './services';
import type { Principal } from './tokens';

type SettingsRoutes = 'getSiteSettings' | 'putSiteSettings' | 'putFleetSettings';

interface SettingsRow { version: number; document: string; updated_by: string; updated_at: number; command_id: string }

/** What one site did with a document. */
export type SettingsOutcome =
  | { siteId: string; outcome: 'applied'; settings: SiteSettings; commandId: string; ack: CommandAck }
  | { siteId: string; outcome: 'rejected' | 'timeout' | 'error'; reason: string; commandId: string; ack?: CommandAck };

const iso = (ms: number) => new Date(ms).toISOString();

export function settingsHandlers(s: Services): Pick<Handlers, SettingsRoutes> {
  const row = (siteId: string) =>
    s.db.one<SettingsRow>(sql`SELECT version, document, updated_by, updated_at, command_id FROM site_settings WHERE site_id = ${siteId}`);

  async function apply(siteId: string, fields: SiteSettingsFields, p: Principal): Promise<SettingsOutcome> {
    const settings: SiteSettings = { ...fields, v: 1, version: ((await row(siteId))?.version ?? 0) + 1 };
    const id = `settings-${randomUUID()}`;
    const body = { type: 'settings' as const, settings };
    await s.db.run(sql`INSERT INTO commands (id, site_id, user_id, body, issued_at) VALUES (${id}, ${siteId}, ${p.userId}, ${JSON.stringify(body)}, ${Date.now()})`);
    let ack: CommandAck;
    try {
      ack = await s.hub.sendCommand({ siteId, body, by: p.email, role: p.role, expiresInS: COMMAND_VALID_S, id });
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      await s.db.run(sql`UPDATE commands SET outcome = 'error', reason = ${reason.slice(0, 500)}, acked_at = ${Date.now()} WHERE id = ${id}`);
      if (err instanceof FleetUnavailableError) throw unavailable(reason);
      return { siteId, outcome: 'error', reason, commandId: id };
    }
    await s.db.run(sql`UPDATE commands SET outcome = ${ack.outcome}, reason = ${ack.reason ?? null}, acked_at = ${ack.ts} WHERE id = ${id}`);
    s.metrics.commands.inc({ type: 'settings', outcome: ack.outcome });
    if (ack.outcome === 'executed') {
      await s.db.run(sql`INSERT INTO site_settings (site_id, version, document, updated_by, updated_at, command_id)
        VALUES (${siteId}, ${settings.version}, ${JSON.stringify(settings)}, ${p.email}, ${ack.ts}, ${id})
        ON CONFLICT (site_id) DO UPDATE SET version = excluded.version, document = excluded.document, updated_by = excluded.updated_by,
        updated_at = excluded.updated_at, command_id = excluded.command_id`);
      return { siteId, outcome: 'applied', settings, commandId: id, ack };
    }
    // 'accepted' alone is not an answer: the site took the command but never said it applied it.
    const outcome = ack.outcome === 'rejected' ? 'rejected' : 'timeout';
    return { siteId, outcome, reason: ack.reason ?? (outcome === 'timeout' ? 'the site did not answer in time' : 'no reason given'), commandId: id, ack };
  }

  return {
    async getSiteSettings({ params }) {
      const r = await row(params.id);
      // `defaults`: the shipped flow's node configuration, where an editor starts when the site has no document.
      return {
        body: r
          ? { siteId: params.id, source: 'document', settings: JSON.parse(r.document) as SiteSettings, appliedBy: r.updated_by, appliedAt: iso(r.updated_at), commandId: r.command_id, defaults: DEFAULT_SETTINGS_FIELDS }
          : { siteId: params.id, source: 'node-config', settings: null, appliedBy: null, appliedAt: null, commandId: null, defaults: DEFAULT_SETTINGS_FIELDS },
      };
    },

    async putSiteSettings({ params, body, principal }) {
      if (!s.hub.canSendCommands) throw unavailable('no command path: the cloud flow has no fleet-hub wired to a command-out node');
      const r = await apply(params.id, body, principal);
      const audit = { target: params.id, details: { commandId: r.commandId, settings: body, outcome: r.outcome, ...(r.outcome === 'applied' ? { version: r.settings.version } : { reason: r.reason }) } };
      if (r.outcome === 'applied') return { body: r, audit };
      if (r.outcome === 'rejected') throw new ApiError(409, 'settings_rejected', `the site refused the settings: ${r.reason}`, r);
      if (r.outcome === 'timeout') throw new ApiError(504, 'command_timeout', `the site did not answer in time: ${r.reason}`, r);
      throw new ApiError(502, 'command_failed', `the command path failed: ${r.reason}`, r);
    },

    async putFleetSettings({ body, principal }) {
      if (!s.hub.canSendCommands) throw unavailable('no command path: the cloud flow has no fleet-hub wired to a command-out node');
      // Side by side: each site answers within the command timeout, fifty sites do not take fifty times as long.
      // A site the caller may not see is answered like one that does not exist, and nothing is sent to it.
      const results = await Promise.all(body.siteIds.map(async (id): Promise<SettingsOutcome> =>
        (await s.sites.canSee(principal, id)) ? apply(id, body.settings, principal) : { siteId: id, outcome: 'error', reason: `no site ${id}`, commandId: '' }));
      const applied = results.filter((r) => r.outcome === 'applied').length;
      return {
        body: { applied, total: results.length, results },
        audit: {
          target: `settings of ${body.siteIds.length} site(s)`,
          details: { settings: body.settings, results: results.map((r) => ({ siteId: r.siteId, outcome: r.outcome, commandId: r.commandId, ...(r.outcome === 'applied' ? { version: r.settings.version } : { reason: r.reason }) })) },
        },
      };
    },
  };
}
