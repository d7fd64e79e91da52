// The site settings document: its schema, the check against the site's physical limits (the
// reasons a refusal gives), what each strategy takes from it, and the property that no document
// moves the arbiter's decisions out of the safety envelope or changes the order of the levels.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { arbitrate } from '../../../domain/arbiter/arbitrate';
import { LEVELS, type Envelope, type Request } from '../../../domain/contracts';
import { INITIAL_PEAK_SHAVING_STATE, step } from '../../../domain/peak-shaving/controller';
import {
  arbitragePart, checkSettings, DEFAULT_SETTINGS_FIELDS, DEFAULT_SITE_LIMITS, peakShavingPart, PEAK_SHAVING_MODES, settingsRefusals,
  SiteSettingsSchema, type SiteSettings,
} from '../../../domain/site-settings/settings';
import { EXPORT_PRICE_MODES } from '../../../domain/tariff/tariff';
import { controllerConfig, PeakShavingNodeConfigSchema } from '../../../nodes/peak-shaving/config';

const doc = (over: Partial<SiteSettings> = {}): SiteSettings => ({ ...DEFAULT_SETTINGS_FIELDS, v: 1, version: 1, ...over });
const NOW = 1_750_000_000_000;

/** Any document the schema accepts, inside the site's limits or not. */
const settingsArb: fc.Arbitrary<SiteSettings> = fc.record({
  v: fc.constant(1 as const),
  version: fc.integer({ min: 1, max: 1_000_000 }),
  arbitrageEnabled: fc.boolean(),
  reserveSocPct: fc.double({ min: 0, max: 100, noNaN: true }),
  socMinPct: fc.double({ min: 0, max: 100, noNaN: true }),
  socMaxPct: fc.double({ min: 0, max: 100, noNaN: true }),
  peakShavingMode: fc.constantFrom(...PEAK_SHAVING_MODES),
  peakShavingThresholdKw: fc.double({ min: 0, max: 100_000, noNaN: true }),
  tariff: fc.record({
    importAdderEurPerKwh: fc.double({ min: -1, max: 10, noNaN: true }),
    vatFactor: fc.double({ min: 1, max: 2, noNaN: true }),
    exportPrice: fc.constantFrom(...EXPORT_PRICE_MODES),
    feedInEurPerKwh: fc.double({ min: 0, max: 10, noNaN: true }),
    demandChargeEurPerKw: fc.double({ min: 0, max: 1000, noNaN: true }),
  }),
  blackStartEnabled: fc.boolean(),
});

const envelopeArb: fc.Arbitrary<Envelope> = fc.record({
  siteId: fc.constant('site-1'),
  ts: fc.constant(NOW),
  mode: fc.constantFrom('NORMAL', 'DERATED', 'SAFE_MODE', 'ESTOP') as fc.Arbitrary<Envelope['mode']>,
  maxChargeW: fc.double({ min: 0, max: 50_000, noNaN: true }),
  maxDischargeW: fc.double({ min: 0, max: 50_000, noNaN: true }),
  restrictions: fc.constant([]),
  alarms: fc.constant([]),
});

/** What the levels above the strategies ask meanwhile (grid, operator), or nothing. */
const otherRequestsArb = fc.array(fc.record({
  level: fc.constantFrom(LEVELS.SAFETY, LEVELS.GRID, LEVELS.OPERATOR) as fc.Arbitrary<Request['level']>,
  source: fc.constantFrom('grid', 'operator'),
  powerW: fc.double({ min: -50_000, max: 50_000, noNaN: true }),
  ts: fc.integer({ min: NOW - 10_000, max: NOW }),
  expiresAt: fc.integer({ min: NOW - 5_000, max: NOW + 60_000 }),
  reason: fc.constant('test'),
}), { maxLength: 3 });

const siteArb = fc.record({
  gridW: fc.double({ min: -20_000, max: 60_000, noNaN: true }),
  batteryW: fc.double({ min: -10_000, max: 10_000, noNaN: true }),
  socPct: fc.double({ min: 0, max: 100, noNaN: true }),
  arbitrageW: fc.double({ min: -1e6, max: 1e6, noNaN: true }),
});

/** The strategies' requests as their nodes make them with the document in force. */
function strategyRequests(s: SiteSettings, site: { gridW: number; batteryW: number; socPct: number; arbitrageW: number }): Request[] {
  const out: Request[] = [];
  const node = PeakShavingNodeConfigSchema.parse({});
  const ps = peakShavingPart(s, node.mode);
  if (ps.enabled) {
    const cfg = controllerConfig({ ...node, mode: ps.mode, thresholdKw: ps.thresholdKw, reserveSocPct: ps.reserveSocPct, rechargeToSocPct: ps.rechargeToSocPct });
    const r = step(INITIAL_PEAK_SHAVING_STATE, { ts: NOW, gridW: site.gridW, batteryW: site.batteryW, socPct: site.socPct, capacityWh: 10_000, maxChargeW: 5000, maxDischargeW: 5000 }, cfg);
    if (r.powerW !== null) out.push({ level: LEVELS.SITE, source: 'peak-shaving', powerW: r.powerW, ts: NOW, expiresAt: NOW + 5000, reason: r.reason });
  }
  if (arbitragePart(s).enabled) out.push({ level: LEVELS.ECONOMIC, source: 'arbitrage', powerW: site.arbitrageW, ts: NOW, expiresAt: NOW + 900_000, reason: 'plan' });
  return out;
}

describe('site settings document', () => {
  it('takes the default fields as a document and refuses unknown fields', () => {
    assert.ok(SiteSettingsSchema.safeParse(doc()).success);
    assert.equal(SiteSettingsSchema.safeParse({ ...doc(), maxPowerW: 1e9 }).success, false);
    assert.equal(SiteSettingsSchema.safeParse({ ...doc(), version: 0 }).success, false);
  });

  it('fits the LiFePO4 defaults as shipped', () => {
    assert.deepEqual(settingsRefusals(doc(), DEFAULT_SITE_LIMITS), []);
  });

  it('names every way a document leaves the site limits', () => {
    const reasons = settingsRefusals(doc({ socMinPct: 1, socMaxPct: 99, reserveSocPct: 0, peakShavingThresholdKw: 80 }), { ...DEFAULT_SITE_LIMITS, gridConnectionKw: 50 });
    assert.deepEqual(reasons, [
      "SoC window minimum 1 % is below the battery's lowest SoC of 5 %",
      "SoC window maximum 99 % is above the battery's highest SoC of 95 %",
      'reserve SoC 0 % lies outside the SoC window 1-99 %',
      'peak-shaving threshold 80 kW is above the grid connection of 50 kW',
    ]);
    assert.deepEqual(settingsRefusals(doc({ socMinPct: 50, socMaxPct: 55, reserveSocPct: 50 }), DEFAULT_SITE_LIMITS), ['SoC window 50-55 % is narrower than 10 %-points']);
  });

  it('answers a malformed document with the schema issue, not an exception', () => {
    const r = checkSettings({ ...doc(), tariff: { ...doc().tariff, vatFactor: 5 } }, DEFAULT_SITE_LIMITS);
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.reasons.join(), /tariff\.vatFactor/);
  });

  it('raises the arbitrage floor to the reserve and switches peak shaving off by mode', () => {
    assert.deepEqual(arbitragePart(doc({ socMinPct: 10, reserveSocPct: 30 })).socMinPct, 30);
    assert.equal(peakShavingPart(doc({ peakShavingMode: 'off' }), 'auto').enabled, false);
    assert.equal(peakShavingPart(doc({ peakShavingMode: 'off' }), 'auto').mode, 'auto');
    assert.equal(peakShavingPart(doc({ peakShavingMode: 'fixed' }), 'auto').mode, 'fixed');
  });

  it('never moves a decision out of the envelope, whatever document is applied', () => {
    fc.assert(fc.property(settingsArb, envelopeArb, otherRequestsArb, siteArb, (s, env, others, site) => {
      const d = arbitrate([...others, ...strategyRequests(s, site)], env, null, NOW, { rampWPerS: 1e9 });
      assert.ok(d.setpointW <= env.maxDischargeW + 1e-6 && d.setpointW >= -env.maxChargeW - 1e-6, `${d.setpointW} W outside [-${env.maxChargeW}, ${env.maxDischargeW}]`);
      if (env.mode === 'SAFE_MODE' || env.mode === 'ESTOP') assert.equal(d.setpointW, 0);
    }), { numRuns: 500 });
  });

  it('leaves the levels as they are: the strategies ask at 4 and 5 and a valid higher level still wins', () => {
    fc.assert(fc.property(settingsArb, envelopeArb.filter((e) => e.mode === 'NORMAL' || e.mode === 'DERATED'), otherRequestsArb, siteArb, (s, env, others, site) => {
      const mine = strategyRequests(s, site);
      for (const r of mine) assert.ok(r.level === (r.source === 'peak-shaving' ? LEVELS.SITE : LEVELS.ECONOMIC));
      const all = [...others, ...mine];
      const d = arbitrate(all, env, null, NOW, { rampWPerS: 1e9 });
      const valid = all.filter((r) => r.expiresAt > NOW);
      const top = valid.length ? Math.min(...valid.map((r) => r.level)) : null;
      assert.equal(d.level, top);
    }), { numRuns: 500 });
  });
});
