// arbitrage: prices, telemetry and the site's load forecast in, the current step's Request (level 5 ECONOMIC) and the whole
// plan out. It re-plans on a rolling horizon: at every step boundary, when the prices change, and
// when the measured SoC leaves the planned trajectory by more than socDeviationPct. The LP lives in
// domain/arbitrage; a solve is synchronous WebAssembly, so horizons stay at a few hundred
// steps at most (tens of ms).
// With objective 'bill' the plan minimises the site's bill (domain/tariff, rolling.ts planAt with
// the site's inputs): the node keeps the site's own load/PV history and the month's peak import
// from the meter, re-plans every hour, and between plans turns the plan's step into a power with
// each meter reading (domain/arbitrage/dispatch.ts). bench/site.ts runs these same functions.
// The site's settings document (msg.topic 'site-settings' from site-settings) sets on/off, the SoC
// window (raised to the reserve) and the tariff while one is in force; without one the node's own
// configuration holds, as in a hand-wired flow.
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { describeIssues, LEVELS, PriceSeriesSchema, StrategySwitchSchema, TelemetrySchema, type Request, LoadForecastSchema, type LoadForecast } from '../../domain/contracts';
import { demandChargeLimits, dispatchKw } from '../../domain/arbitrage/dispatch';
import { heldLevelAheadKw, peakTargetKw } from '../../domain/arbitrage/peak-target';
import { expectedSocPct, planAt, PriceBook, type ArbitrageSettings, type PlanAt, type SiteInputs } from '../../domain/arbitrage/rolling';
import { NetLoad } from '../../domain/forecast/net-load';
import { SiteHistory, siteForecastOfNetLoad } from '../../domain/forecast/site-forecast';
import { MonthPeak, type SiteTariff } from '../../domain/tariff/tariff';
import { arbitragePart, EffectiveSettingsSchema, SITE_SETTINGS_MSG_TOPIC, type ArbitrageSettingsPart } from '../../domain/site-settings/settings';
import { parseConfig } from '../kit/config';
import { errorStatus, errorText, shorten } from '../kit/status';
import { ArbitrageConfigSchema, tariffOf, type ArbitrageConfig } from './config';

interface ArbitrageDef extends NodeDef, Record<string, unknown> {}

/** The request outlives the end of its step by this much, wall time, so the next one can arrive. */
const GRACE_MS = 5_000;
/** A site plan's dispatch sends a new request when the power moves by more than this, W. */
const DISPATCH_STEP_W = 50;
const QUARTER_MS = 900_000;

function isObject(p: unknown): p is Record<string, unknown> {
  return !!p && typeof p === 'object' && !Array.isArray(p);
}

export = function register(RED: NodeAPI): void {
  function ArbitrageNode(this: Node, def: ArbitrageDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    let config: ArbitrageConfig;
    try {
      config = parseConfig(ArbitrageConfigSchema, 'arbitrage', def);
    } catch (err) {
      node.status(errorStatus(err));
      node.error(err);
      return;
    }
    // Plan time: the wall clock, or a faster one when driving a fast simulator (speed > 1).
    const anchor = Date.now();
    const planNow = (): number => Math.round(anchor + (Date.now() - anchor) * config.speed);
    const wallOf = (planMs: number): number => Math.round(anchor + (planMs - anchor) / config.speed);

    const book = new PriceBook();
    let enabled = config.enabled;
    /** The settings document's part while one is in force (null: the node's configuration). */
    let fromDocument: ArbitrageSettingsPart | null = null;
    const socWindow = (): { socMinPct: number; socMaxPct: number } => fromDocument ?? config;
    const tariff = (): SiteTariff => fromDocument?.tariff ?? tariffOf(config);
    let soc: number | null = null;
    let capacityWh: number | null = null;
    let netLoadKw: number | undefined;
    const netLoad = new NetLoad();
    // The latest day-ahead load forecast of this site (load-forecast node): the LP's load per step.
    let loadForecast: LoadForecast | undefined;
    let current: PlanAt | null = null;
    const bill = config.objective === 'bill';
    const siteHistory = new SiteHistory();
    const monthPeak = new MonthPeak();
    /** Under a demand charge, the import level the site needs ahead (peak-target.ts), set at each plan. */
    let heldKw = 0;
    let lastSent: { start: number; powerW: number } | null = null;
    let planning = false;
    let again: string | null = null;
    let closed = false;

    const capacityKwh = (): number | null => config.capacityKwh ?? (capacityWh ? capacityWh / 1000 : null);

    async function replan(reason: string): Promise<void> {
      if (!enabled || closed) return;
      if (planning) { again = reason; return; }
      const cap = capacityKwh();
      if (soc === null || cap === null) { node.status({ fill: 'grey', shape: 'ring', text: 'waiting for battery telemetry' }); return; }
      if (book.size === 0) { node.status({ fill: 'grey', shape: 'ring', text: 'waiting for prices' }); return; }
      planning = true;
      try {
        const now = planNow();
        book.prune(now);
        const p = await planAt(now, book, soc, settingsOf(cap), config.siteId, netLoadKw, loadForecast, bill ? siteInputs(now, cap) : undefined);
        if (closed) return;
        if (!p) {
          current = null;
          node.status({ fill: 'yellow', shape: 'ring', text: 'no price for the current step' });
          return;
        }
        p.plan.reason = reason;
        current = p;
        lastSent = null;
        atStepEnd(p.replanAt);
        const step = p.plan.steps[0] as { start: number; powerW: number; priceEurPerMWh: number };
        const powerW = bill ? dispatchedW(now) ?? step.powerW : step.powerW;
        sendRequest(step.start, step.start + p.plan.stepMinutes * 60_000, powerW, `${step.priceEurPerMWh.toFixed(1)} EUR/MWh: ${reason}`, p.plan);
        const action = powerW > 0 ? 'discharge' : powerW < 0 ? 'charge' : 'idle';
        const money = p.plan.billEur !== undefined && p.plan.billNoBatteryEur !== undefined ? `saves ${(p.plan.billNoBatteryEur - p.plan.billEur).toFixed(2)} EUR` : `plan ${p.plan.objectiveEur.toFixed(2)} EUR`;
        node.status({ fill: 'green', shape: 'dot', text: shorten(`${action} ${(Math.abs(powerW) / 1000).toFixed(2)} kW · ${step.priceEurPerMWh.toFixed(0)} EUR/MWh · ${money}`) });
      } catch (err) {
        current = null;
        node.status(errorStatus(err));
        node.error(`arbitrage: ${errorText(err)}`);
      } finally {
        planning = false;
        if (again !== null) {
          const r = again;
          again = null;
          void replan(r);
        }
      }
    }

    function settingsOf(cap: number): ArbitrageSettings {
      return {
        capacityKwh: cap, maxChargeKw: config.powerKw, maxDischargeKw: config.powerKw,
        etaCharge: config.etaCharge, etaDischarge: config.etaDischarge, socMinPct: socWindow().socMinPct, socMaxPct: socWindow().socMaxPct,
        degradationEurPerKwh: config.degradationEurPerKwh, horizonHours: config.horizonHours,
        ...(config.gridImportMaxKw !== null ? { gridImportMaxKw: config.gridImportMaxKw } : {}),
        ...(config.gridExportMaxKw !== null ? { gridExportMaxKw: config.gridExportMaxKw } : {}),
      };
    }

    /** The site plan's inputs: the site's own forecast (the load-forecast node's until a day of its own history), the month's peak. */
    function siteInputs(now: number, cap: number): SiteInputs {
      const steps = Math.round(config.horizonHours * 4);
      const own = siteHistory.forecast(now, steps);
      const forecast = own ?? (loadForecast ? siteForecastOfNetLoad(loadForecast.start, loadForecast.loadKw) : null);
      heldKw = tariff().demandChargeEurPerKw > 0 && soc !== null ? heldLevelAheadKw(forecast, now, soc, settingsOf(cap)) : 0;
      return { tariff: tariff(), peakSoFarKw: monthPeak.peakKw(now), forecast };
    }

    /** The site plan's step at `now` as a power with the net load measured now, W; null without a step. */
    function dispatchedW(now: number): number | null {
      const cap = capacityKwh();
      const step = current?.plan.steps.find((s) => now >= s.start && now < s.start + QUARTER_MS);
      if (!step || soc === null || cap === null) return null;
      const kw = dispatchKw({ powerKw: step.powerW / 1000, gridKw: step.gridW === null ? null : step.gridW / 1000 }, netLoadKw, {
        ...settingsOf(cap), socPct: soc, ...demandChargeLimits(tariff().demandChargeEurPerKw, peakTargetKw(monthPeak.peakKw(now), heldKw, config.gridImportMaxKw ?? undefined)),
      });
      return Math.round(kw * 1000);
    }

    function sendRequest(start: number, end: number, powerW: number, why: string, plan?: PlanAt['plan']): void {
      const request: Request = {
        level: LEVELS.ECONOMIC, source: 'arbitrage', powerW, ts: Date.now(),
        expiresAt: wallOf(end) + GRACE_MS, id: `arbitrage-${start}`,
        reason: shorten(why, 500),
      };
      lastSent = { start, powerW };
      node.send(plan ? [{ topic: 'request', payload: request }, { topic: 'plan', payload: plan }] : [{ topic: 'request', payload: request }, null]);
    }

    /** With a site plan, each meter reading may move the battery's power (dispatch.ts). */
    function redispatch(): void {
      if (!bill || !current || planning || !enabled) return;
      const now = planNow();
      const w = dispatchedW(now);
      if (w === null) return;
      const start = Math.floor(now / QUARTER_MS) * QUARTER_MS;
      if (lastSent && lastSent.start === start && Math.abs(lastSent.powerW - w) < DISPATCH_STEP_W) return;
      sendRequest(start, start + QUARTER_MS, w, `following the meter: ${(netLoadKw ?? 0).toFixed(2)} kW net load`);
    }

    // Step boundaries: a new step gets a new plan (and with it a new request), on time.
    let boundary: NodeJS.Timeout | undefined;
    function atStepEnd(stepEnd: number): void {
      clearTimeout(boundary);
      boundary = setTimeout(() => void replan('new step'), Math.max(0, wallOf(stepEnd) - Date.now() + 1));
    }

    /** Ends the request in force at once: a switched-off or re-parameterised schedule must not run on until its step ends. */
    function withdraw(why: string): void {
      const now = Date.now();
      lastSent = null;
      node.send([{ topic: 'request', payload: { level: LEVELS.ECONOMIC, source: 'arbitrage', powerW: 0, ts: now, expiresAt: now, reason: why } satisfies Request }, null]);
    }

    node.on('input', (msg: NodeMessageInFlow, _send, done) => {
      const p = msg.payload;
      if (msg.topic === SITE_SETTINGS_MSG_TOPIC) {
        const e = EffectiveSettingsSchema.safeParse(p);
        if (!e.success) return done(new Error(`arbitrage: bad site settings: ${describeIssues(e.error)}`));
        fromDocument = e.data.settings ? arbitragePart(e.data.settings) : null;
        const was = enabled;
        enabled = fromDocument?.enabled ?? config.enabled;
        current = null;
        if (!enabled) {
          if (was) withdraw('arbitrage switched off by the site settings');
          node.status({ fill: 'grey', shape: 'ring', text: 'disabled (site settings)' });
        } else void replan(fromDocument ? `site settings version ${e.data.settings?.version ?? '?'}` : 'node configuration');
        return done();
      }
      // On and off as peak-shaving takes it ({enabled: boolean}), or msg.topic 'enabled' with a flag.
      const sw = StrategySwitchSchema.safeParse(p);
      const onOff = sw.success ? sw.data.enabled : null;
      if (onOff !== null || msg.topic === 'enabled' || msg.topic === 'enable') {
        enabled = onOff ?? (p === true || p === 'true' || p === 1);
        if (!enabled) { current = null; node.status({ fill: 'grey', shape: 'ring', text: 'disabled' }); }
        else void replan('enabled');
        return done();
      }
      if (msg.topic === 'prices' || (isObject(p) && 'pricesEurPerMWh' in p)) {
        const r = PriceSeriesSchema.safeParse(p);
        if (!r.success) return done(new Error(`arbitrage: bad price series: ${describeIssues(r.error)}`));
        if (book.put(r.data)) void replan('new prices');
        return done();
      }
      if (msg.topic === 'load-forecast' || (isObject(p) && 'loadKw' in p && 'model' in p)) {
        const f = LoadForecastSchema.safeParse(p);
        if (!f.success) return done(new Error(`arbitrage: bad load forecast: ${describeIssues(f.error)}`));
        // Another site's forecast says nothing about this site's grid connection.
        if (f.data.siteId !== config.siteId) return done();
        loadForecast = f.data;
        void replan('new load forecast');
        return done();
      }
      const t = TelemetrySchema.safeParse(p);
      if (!t.success) return done(new Error(`arbitrage: expected a price series, a load forecast or telemetry: ${describeIssues(t.error)}`));
      const { battery } = t.data;
      const measured = netLoad.update(t.data);
      netLoadKw = measured ?? netLoadKw;
      if (measured !== undefined && t.data.meter) {
        // The site's history (no PV meter: a negative net load counts as PV) and the month's peak import.
        const now = planNow();
        siteHistory.observe(now, Math.max(0, measured), Math.max(0, -measured));
        monthPeak.add(now, t.data.meter.power / 1000);
        redispatch();
      }
      if (!battery) return done();
      soc = battery.soc;
      if (battery.capacityWh) capacityWh = battery.capacityWh;
      if (!current) void replan('first plan');
      else {
        const expected = expectedSocPct(current, planNow());
        if (expected === null) void replan('plan ran out');
        // A site plan's dispatch leaves the planned SoC on purpose (it follows the meter); it re-plans every hour.
        else if (!bill && Math.abs(expected - soc) > config.socDeviationPct) void replan(`SoC ${soc.toFixed(1)} % is ${(soc - expected).toFixed(1)} points off the plan`);
      }
      done();
    });

    node.on('close', () => {
      closed = true;
      clearTimeout(boundary);
    });
    if (!enabled) node.status({ fill: 'grey', shape: 'ring', text: 'disabled' });
  }
  RED.nodes.registerType('arbitrage', ArbitrageNode);
};
