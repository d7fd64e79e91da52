// site-status: the edge flow's live data (device telemetry, the safety envelope, the arbiter's
// decision) to the editor's site sidebar (editor-plugins/site-sidebar). Publishes the site's view on a
// retained comms topic at most rateHz times a second (retained: a freshly opened editor gets it at
// once), serves the same view at GET <admin>/lifo4/site behind the lifo4.read permission, and
// takes alarm acknowledgements only as an authorised POST (lifo4.write), never over comms.
import express, { type Request, type Response } from 'express';
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { DecisionSchema, describeIssues, EffectiveSettingsSchema, EnvelopeSchema, SiteIdSchema, TelemetrySchema } from '../../domain/contracts';
import { SITE_SETTINGS_MSG_TOPIC } from '../../domain/site-settings/settings';
import { SiteStatus } from '../../domain/site-status/status';
import { parseConfig } from '../kit/config';
import { errorStatus } from '../kit/status';
import { AlarmAckSchema, siteCommsTopic, SiteStatusConfigSchema } from './config';

interface SiteStatusDef extends NodeDef {
  siteId: string;
  rateHz: string;
}

interface Site {
  status: SiteStatus;
  /** Publishes now if the throttle allows, else once it does. */
  changed(): void;
}

/** The user Node-RED's adminAuth attached to the request, if any. */
function userName(req: Request): string {
  const user = (req as Request & { user?: { username?: unknown } }).user;
  return typeof user?.username === 'string' ? user.username : 'anonymous';
}

export = function register(RED: NodeAPI): void {
  /** Running site-status nodes by site; a second node for the same site is refused. */
  const sites = new Map<string, Site>();

  RED.httpAdmin.get('/lifo4/site', RED.auth.needsPermission('lifo4.read'), (_req: Request, res: Response) => {
    res.json({ sites: [...sites.values()].map((s) => s.status.view(Date.now())) });
  });
  RED.httpAdmin.post('/lifo4/site/:siteId/alarms/ack', RED.auth.needsPermission('lifo4.write'), express.json({ limit: '4kb' }), (req: Request, res: Response) => {
    const siteId = SiteIdSchema.safeParse(req.params.siteId);
    const body = AlarmAckSchema.safeParse(req.body);
    if (!siteId.success || !body.success) {
      res.status(400).json({ error: siteId.success ? describeIssues(body.error!) : describeIssues(siteId.error) });
      return;
    }
    const site = sites.get(siteId.data);
    if (!site) {
      res.status(404).json({ error: `no site-status node for site ${siteId.data}` });
      return;
    }
    const by = userName(req);
    if (!site.status.acknowledge(body.data.source, body.data.code, by, Date.now())) {
      res.status(404).json({ error: `no active alarm ${body.data.code} from ${body.data.source}` });
      return;
    }
    RED.log.info(`site-status: alarm ${body.data.code} (${body.data.source}) of site ${siteId.data} acknowledged by ${by}`);
    site.changed();
    res.json({ ok: true, by });
  });

  function SiteStatusNode(this: Node, def: SiteStatusDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    let cfg: ReturnType<typeof SiteStatusConfigSchema.parse>;
    try {
      cfg = parseConfig(SiteStatusConfigSchema, 'site-status', def);
    } catch (err) {
      node.status(errorStatus(err));
      node.error(err);
      return;
    }
    if (sites.has(cfg.siteId)) {
      const err = new Error(`site-status: another site-status node already shows site ${cfg.siteId}`);
      node.status(errorStatus(err));
      node.error(err);
      return;
    }
    const topic = siteCommsTopic(cfg.siteId);
    const minIntervalMs = 1000 / cfg.rateHz;
    const status = new SiteStatus(cfg.siteId);
    let lastPublish = 0;
    let timer: NodeJS.Timeout | null = null;
    let shownFreshness: string | null = null;
    // Data that stops arriving sends no message: a clock notices it going stale, once a second.
    const ageTimer = setInterval(() => {
      if (status.view(Date.now()).freshness.site !== shownFreshness) changed();
    }, 1000);

    const publish = (): void => {
      timer = null;
      lastPublish = Date.now();
      const v = status.view(lastPublish);
      shownFreshness = v.freshness.site;
      RED.comms.publish(topic, v, true);
      const soc = v.battery ? `SoC ${v.battery.soc.toFixed(1)} %` : 'no battery telemetry';
      const mode = v.envelope?.mode ?? 'no envelope';
      if (v.battery && v.freshness.site !== 'fresh') {
        // Old numbers are not the site now: say since when there are none.
        node.status({ fill: 'grey', shape: 'ring', text: `no data since ${new Date(Math.max(v.battery.ts, v.pcs?.ts ?? 0)).toLocaleTimeString()} · last ${soc}` });
      } else node.status({ fill: mode === 'NORMAL' ? 'green' : mode === 'DERATED' ? 'yellow' : v.envelope ? 'red' : 'grey', shape: 'dot', text: `${soc} · ${mode}` });
    };
    const changed = (): void => {
      if (timer) return;
      timer = setTimeout(publish, Math.max(0, lastPublish + minIntervalMs - Date.now()));
    };
    sites.set(cfg.siteId, { status, changed });

    node.on('input', (msg: NodeMessageInFlow, _send, done) => {
      const p = msg.payload as { siteId?: unknown } | undefined;
      if (p && typeof p === 'object' && p.siteId !== cfg.siteId) {
        return done(new Error(`site-status: message for site ${String(p.siteId)}, this node shows ${cfg.siteId}`));
      }
      // The topics the edge flow's safety-limits and arbiter set; anything else must be telemetry.
      if (msg.topic === 'envelope') {
        const e = EnvelopeSchema.safeParse(msg.payload);
        if (!e.success) return done(new Error(`site-status: bad envelope: ${describeIssues(e.error)}`));
        status.setEnvelope(e.data);
      } else if (msg.topic === SITE_SETTINGS_MSG_TOPIC) {
        const e = EffectiveSettingsSchema.safeParse(msg.payload);
        if (!e.success) return done(new Error(`site-status: bad site settings: ${describeIssues(e.error)}`));
        status.setSettings(e.data);
      } else if (msg.topic === 'decision') {
        const d = DecisionSchema.safeParse(msg.payload);
        if (!d.success) return done(new Error(`site-status: bad decision: ${describeIssues(d.error)}`));
        status.setDecision(d.data);
      } else {
        const t = TelemetrySchema.safeParse(msg.payload);
        if (!t.success) return done(new Error(`site-status: not telemetry, an envelope or a decision: ${describeIssues(t.error)}`));
        status.addTelemetry(t.data);
      }
      changed();
      done();
    });

    node.on('close', (removed: boolean, done: () => void) => {
      if (timer) clearTimeout(timer);
      clearInterval(ageTimer);
      sites.delete(cfg.siteId);
      // A removed node's site leaves the sidebar; a redeployed one publishes again at once.
      if (removed) RED.comms.publish(topic, { siteId: cfg.siteId, removed: true }, false);
      done();
    });
    publish();
  }
  RED.nodes.registerType('site-status', SiteStatusNode);
};
