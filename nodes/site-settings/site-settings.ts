// site-settings: the site's strategy settings document (domain/site-settings) at the edge. It takes
// the documents command-in passes on (a verified 'settings' command: {id, by, role, settings}),
// checks each against the site's physical limits, keeps the one in force in a file under the
// Node-RED user directory (io/site-settings-file.ts) and sends the effective settings (output 1) to
// the strategy nodes and site-status: at every start, after every change. Output 2 answers
// command-in: accepted (applied) or rejected with the reasons, the settings in force unchanged.
// The effective settings are also published retained on lifo4/<siteId>/settings when a link is set.
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { z } from 'zod';
import { checkSettings, SITE_SETTINGS_MSG_TOPIC, type EffectiveSettings, type SiteLimits } from '../../domain/site-settings/settings';
import { topics } from '../../domain/topics';
import { readSettingsFile, settingsFilePath, writeSettingsFile, type SettingsRecord } from '../../io/site-settings-file';
import { parseConfig } from '../kit/config';
import { errorStatus, errorText, shorten } from '../kit/status';
import { linkOf, type MqttLink } from '../mqtt-link/link';
import { limitsOf, SiteSettingsConfigSchema } from './config';

/** What command-in sends; `id` and `by` are absent when a flow (an inject) hands a document in. */
const SettingsInputSchema = z.object({
  id: z.string().max(128).optional(),
  by: z.string().min(1).max(256).optional(),
  settings: z.unknown(),
});

export = function register(RED: NodeAPI): void {
  function SiteSettingsNode(this: Node, def: NodeDef & Record<string, unknown>): void {
    RED.nodes.createNode(this, def);
    const node = this;
    let siteId: string;
    let limits: SiteLimits;
    let link: MqttLink | null = null;
    let path: string;
    try {
      const cfg = parseConfig(SiteSettingsConfigSchema, 'site-settings', def);
      if (cfg.link) {
        const l = linkOf(RED, cfg.link);
        if (l instanceof Error) throw l;
        link = l;
      }
      siteId = cfg.siteId || link?.siteId || '';
      if (!siteId) throw new Error('site-settings: no site id (set it here or on the mqtt-link)');
      limits = limitsOf(cfg);
      path = settingsFilePath(RED.settings.userDir as string | undefined, siteId);
    } catch (err) {
      node.status(errorStatus(err));
      node.error(err);
      return;
    }

    let record: SettingsRecord | null = null;
    let lastRefusal: EffectiveSettings['lastRefusal'] = null;
    const found = readSettingsFile(path, siteId);
    if (found.kind === 'unreadable') node.warn(`site-settings: ${found.reason}; the strategy nodes use their own configuration`);
    if (found.kind === 'found') {
      // The limits may have been edited since: a kept document that no longer fits is not applied.
      const again = checkSettings(found.record.settings, limits);
      if (again.ok) record = found.record;
      else {
        lastRefusal = { commandId: found.record.commandId, at: Date.now(), reasons: again.reasons };
        node.warn(`site-settings: the kept document (version ${found.record.settings.version}) no longer fits the site's limits: ${again.reasons.join('; ')}`);
      }
    }

    const effective = (): EffectiveSettings => ({
      v: 1, siteId, source: record ? 'document' : 'node-config', settings: record?.settings ?? null,
      appliedBy: record?.appliedBy ?? null, appliedAt: record?.appliedAt ?? null, commandId: record?.commandId ?? null,
      limits: { ...limits }, lastRefusal,
    });

    const showStatus = (): void => {
      const refused = lastRefusal ? ` · last refused: ${lastRefusal.reasons[0] ?? ''}` : '';
      node.status(record
        ? { fill: lastRefusal ? 'yellow' : 'green', shape: 'dot', text: shorten(`version ${record.settings.version} by ${record.appliedBy ?? 'the flow'}${refused}`) }
        : { fill: lastRefusal ? 'yellow' : 'grey', shape: 'ring', text: shorten(`no document: node configuration${refused}`) });
    };

    const announce = (): void => {
      const e = effective();
      node.send([{ topic: SITE_SETTINGS_MSG_TOPIC, payload: e }, null]);
      if (link) link.publish(topics.settings(siteId), JSON.stringify(e), { qos: 1, retain: true }).catch((err: unknown) => node.warn(`site-settings: not published: ${errorText(err)}`));
      showStatus();
    };

    // The strategy nodes exist once the flows have started: only then can they take the document.
    const onStarted = (): void => announce();
    RED.events.on('flows:started', onStarted);
    // A broker that lost its retained messages gets them again on every connect.
    const onConnect = (): void => {
      if (link) link.publish(topics.settings(siteId), JSON.stringify(effective()), { qos: 1, retain: true }).catch(() => undefined);
    };
    link?.on('connect', onConnect);
    showStatus();

    node.on('input', (msg: NodeMessageInFlow, send, done) => {
      const input = SettingsInputSchema.safeParse(msg.payload);
      if (!input.success || input.data.settings === undefined) return done(new Error('site-settings: expected {settings} (from command-in, or a flow)'));
      const { id = null, by = null } = input.data;
      const ack = (status: 'accepted' | 'rejected', reason: string) =>
        ({ topic: 'ack', payload: { id, status, reason, from: 'site-settings', ts: Date.now() } });
      const check = checkSettings(input.data.settings, limits);
      if (!check.ok) {
        lastRefusal = { commandId: id, at: Date.now(), reasons: check.reasons };
        node.warn(`site-settings: document ${id ?? '(from the flow)'} refused: ${check.reasons.join('; ')}`);
        send([null, ack('rejected', `refused, the settings in force stay: ${check.reasons.join('; ')}`)]);
        announce();
        return done();
      }
      try {
        // On disk before it is in force: what runs is what a restart will find.
        record = writeSettingsFile(path, siteId, check.settings, by, id);
      } catch (err) {
        send([null, ack('rejected', `not kept, the settings in force stay: ${errorText(err)}`)]);
        return done(new Error(`site-settings: ${errorText(err)}`));
      }
      lastRefusal = null;
      send([null, ack('accepted', `settings version ${check.settings.version} applied`)]);
      announce();
      done();
    });

    node.on('close', (done: () => void) => {
      RED.events.removeListener('flows:started', onStarted);
      link?.removeListener('connect', onConnect);
      done();
    });
  }
  RED.nodes.registerType('site-settings', SiteSettingsNode as unknown as (this: Node, def: NodeDef) => void);
};
