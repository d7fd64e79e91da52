// peak-shaving: site telemetry in, level-4 (SITE) requests out. Each meter reading runs one cycle
// of the pure controller (domain/peak-shaving/controller.ts). It asks for power only while
// shaving or recharging; when it has nothing to do it withdraws (an already-expired request), so
// the levels below it (arbitrage, level 5) act: a 0 W request would override them.
// In 'auto' mode the threshold is learnt over the next day's net load: from the load-forecast
// node's forecast (topic 'load-forecast') where it covers the day, else from the recent past.
// The site's settings document (msg.topic 'site-settings') sets on/off, the mode, the threshold, the
// reserve and the recharge ceiling while one is in force; without one the node's configuration holds.
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { z } from 'zod';
import { describeIssues, LEVELS, StrategySwitchSchema, type Request, LoadForecastSchema, type LoadForecast } from '../../domain/contracts';
import {
  INITIAL_PEAK_SHAVING_STATE, step, type PeakShavingOutput, type PeakShavingState,
} from '../../domain/peak-shaving/controller';
import { SiteTelemetry } from '../../domain/telemetry-snapshot';
import { otherSiteError, takeTelemetry } from '../kit/site-telemetry';
import { parseConfig } from '../kit/config';
import { errorStatus, shorten } from '../kit/status';
import { controllerConfig, PeakShavingNodeConfigSchema } from './config';
import { EffectiveSettingsSchema, peakShavingPart, SITE_SETTINGS_MSG_TOPIC } from '../../domain/site-settings/settings';

interface PeakShavingDef extends NodeDef {
  siteId: string;
  enabled: string | boolean;
  mode: string;
  thresholdKw: string;
  reserveSocPct: string;
  rechargeMarginKw: string;
  rechargeToSocPct: string;
  trackMonthPeak: string | boolean;
  expiryMs: string;
  capacityWh: string;
  maxPowerW: string;
}

const SOURCE = 'peak-shaving';
const kw = (w: number): string => `${(w / 1000).toFixed(2)} kW`;

export = function register(RED: NodeAPI): void {
  function PeakShavingNode(this: Node, def: PeakShavingDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    let cfg: z.infer<typeof PeakShavingNodeConfigSchema>;
    try {
      cfg = parseConfig(PeakShavingNodeConfigSchema, 'peak-shaving', def);
    } catch (err) {
      node.status(errorStatus(err));
      node.error(err);
      return;
    }
    let control = controllerConfig(cfg);
    // The month's billed peak and the learnt history survive a redeploy in the node's context
    // (and a restart, where the runtime backs the default store with files).
    const ctx = node.context();
    let state = (ctx.get('state') as PeakShavingState | undefined) ?? INITIAL_PEAK_SHAVING_STATE;
    const site = new SiteTelemetry(cfg.siteId);
    let enabled = cfg.enabled;
    /** A request of ours may still be live in the arbiter: withdraw it before going quiet. */
    let requesting = false;
    let forecast: LoadForecast | undefined;

    const withdrawal = (now: number, reason: string): Request =>
      ({ level: LEVELS.SITE, source: SOURCE, powerW: 0, ts: now, expiresAt: now, reason });

    node.status(enabled ? { fill: 'grey', shape: 'ring', text: 'waiting for meter and battery telemetry' } : { fill: 'grey', shape: 'ring', text: 'disabled' });

    node.on('input', (msg: NodeMessageInFlow, send, done) => {
      const now = Date.now();
      if (msg.topic === SITE_SETTINGS_MSG_TOPIC) {
        const e = EffectiveSettingsSchema.safeParse(msg.payload);
        if (!e.success) return done(new Error(`peak-shaving: bad site settings: ${describeIssues(e.error)}`));
        const part = e.data.settings ? peakShavingPart(e.data.settings, cfg.mode) : null;
        control = controllerConfig(part ? { ...cfg, mode: part.mode, thresholdKw: part.thresholdKw, reserveSocPct: part.reserveSocPct, rechargeToSocPct: part.rechargeToSocPct } : cfg);
        enabled = part?.enabled ?? cfg.enabled;
        // The request in force was made with the old parameters: it ends now, the next meter reading makes a new one.
        if (requesting) {
          requesting = false;
          send([{ topic: 'request', payload: withdrawal(now, part ? `site settings version ${e.data.settings?.version ?? '?'}` : 'node configuration') }, null]);
        }
        node.status({ fill: 'grey', shape: 'ring', text: enabled ? `${control.mode} · threshold ${kw(control.thresholdW)} (${part ? 'site settings' : 'node configuration'})` : 'disabled (site settings)' });
        return done();
      }
      const sw = StrategySwitchSchema.safeParse(msg.payload);
      if (sw.success) {
        enabled = sw.data.enabled;
        if (!enabled && requesting) {
          requesting = false;
          send([{ topic: 'request', payload: withdrawal(now, 'peak shaving disabled') }, null]);
        }
        node.status(enabled ? { fill: 'grey', shape: 'ring', text: 'enabled' } : { fill: 'grey', shape: 'ring', text: 'disabled' });
        return done();
      }
      const p = msg.payload;
      if (msg.topic === 'load-forecast' || (!!p && typeof p === 'object' && 'loadKw' in p && 'model' in p)) {
        const f = LoadForecastSchema.safeParse(p);
        if (!f.success) return done(new Error(`peak-shaving: bad load forecast: ${describeIssues(f.error)}`));
        if (f.data.siteId !== cfg.siteId) return done(new Error(`peak-shaving: load forecast for site ${f.data.siteId}, this node serves ${cfg.siteId}`));
        forecast = f.data;
        return done();
      }
      const t = takeTelemetry(site, msg.payload);
      if (t.kind === 'not-telemetry') return done(new Error(`peak-shaving: not telemetry, a load forecast nor {enabled}: ${t.issues}`));
      if (t.kind === 'other-site') return done(otherSiteError('peak-shaving', site, t.siteId));
      // One cycle per meter reading: the meter is what the demand charge is billed on.
      if (!t.part.meter || !enabled) return done();
      const { battery, pcs, meter } = site.snapshot;
      if (!battery || !meter) {
        node.status({ fill: 'grey', shape: 'ring', text: 'waiting for battery telemetry' });
        return done();
      }
      const capacityWh = battery.capacityWh ?? cfg.capacityWh;
      if (!capacityWh) return done(new Error('peak-shaving: the battery reports no capacity; set capacityWh'));
      const limit = (...ws: (number | null | undefined)[]): number => ws.find((w) => typeof w === 'number' && w > 0) ?? Number.POSITIVE_INFINITY;
      const out: PeakShavingOutput = step(state, {
        ts: meter.ts,
        gridW: meter.power,
        // The PCS's AC power is what the meter sees of the battery; the BMS's DC power is the fallback.
        batteryW: pcs?.power ?? battery.power,
        socPct: battery.soc,
        capacityWh,
        maxChargeW: limit(cfg.maxPowerW, battery.chargePowerMax, pcs?.maxChargeW, pcs?.ratedPowerW),
        maxDischargeW: limit(cfg.maxPowerW, battery.dischargePowerMax, pcs?.maxDischargeW, pcs?.ratedPowerW),
        ...(forecast ? { forecast } : {}),
      }, control);
      state = out.state;
      ctx.set('state', state);

      let request: Request | null = null;
      if (out.powerW !== null) {
        request = { level: LEVELS.SITE, source: SOURCE, powerW: Math.round(out.powerW), ts: now, expiresAt: now + cfg.expiryMs, reason: out.reason };
        requesting = true;
      } else if (requesting) {
        request = withdrawal(now, out.reason);
        requesting = false;
      }
      node.status({
        fill: out.action === 'idle' ? 'grey' : out.action === 'hold' ? 'yellow' : 'green',
        shape: 'dot',
        text: shorten(`${out.action} · threshold ${kw(out.thresholdW)} · month peak ${kw(out.monthPeakW)}${out.powerW === null ? '' : ` · ${Math.round(out.powerW)} W`}`),
      });
      const chart = {
        ts: meter.ts, action: out.action, powerW: out.powerW, thresholdW: out.thresholdW, monthPeakW: out.monthPeakW,
        intervalAvgW: out.intervalAvgW, netW: out.netW, gridW: meter.power, socPct: battery.soc, reason: out.reason,
      };
      send([request ? { topic: 'request', payload: request } : null, { topic: 'peak-shaving', payload: chart }]);
      done();
    });
  }
  RED.nodes.registerType('peak-shaving', PeakShavingNode);
};
