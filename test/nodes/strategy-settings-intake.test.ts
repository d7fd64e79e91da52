// The strategy nodes take their parameters from the site's settings document (msg.topic
// 'site-settings', as site-settings sends it) while one is in force, and from their own node
// configuration without one.
import assert from 'node:assert/strict';
import helper, { type TestNode } from 'node-red-node-test-helper';
import type { EffectiveSettings, Request } from '../../domain/contracts';
import { DEFAULT_SETTINGS_FIELDS, DEFAULT_SITE_LIMITS, type SiteSettings } from '../../domain/site-settings/settings';
import peakShaving from '../../nodes/peak-shaving/peak-shaving';
import arbitrage from '../../nodes/arbitrage/arbitrage';
import { siteTelemetry } from './arbitrage/site-telemetry';
import { tempUserDirPerTest } from '../user-dir';
import { battery, meter } from './peak-shaving-telemetry';

helper.init(require.resolve('node-red'));

const effective = (settings: SiteSettings | null): EffectiveSettings => ({
  v: 1, siteId: 'site-1', source: settings ? 'document' : 'node-config', settings, appliedBy: settings ? 'm@x' : null, appliedAt: settings ? Date.now() : null,
  commandId: null, limits: { ...DEFAULT_SITE_LIMITS }, lastRefusal: null,
});
const doc = (over: Partial<SiteSettings>): SiteSettings => ({ ...DEFAULT_SETTINGS_FIELDS, v: 1, version: 1, ...over });

function collect(node: TestNode): Request[] {
  const got: Request[] = [];
  node.on('input', (msg: { payload?: unknown }) => got.push(msg.payload as Request));
  return got;
}
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 50));

describe('strategy nodes: settings from the site document, else from the node', () => {
  tempUserDirPerTest();
  afterEach(() => helper.unload());
  const flow = [
    { id: 'ps', type: 'peak-shaving', siteId: 'site-1', enabled: false, mode: 'fixed', thresholdKw: '3', reserveSocPct: '20', rechargeMarginKw: '0', rechargeToSocPct: '90', trackMonthPeak: true, expiryMs: '5000', capacityWh: '', maxPowerW: '', wires: [['requests'], []] },
    { id: 'requests', type: 'helper' },
  ];

  it('peak shaving: off by its node, shaving at the document threshold, held at the document reserve, back to the node without a document', async () => {
    await helper.load(peakShaving, flow);
    const requests = collect(helper.getNode('requests'));
    const ps = helper.getNode('ps');
    ps.receive({ payload: battery(50) });
    ps.receive({ payload: meter(2000) });
    await settle();
    assert.equal(requests.length, 0, 'the node is configured off');

    ps.receive({ topic: 'site-settings', payload: effective(doc({ peakShavingMode: 'fixed', peakShavingThresholdKw: 0.5, reserveSocPct: 20 })) });
    ps.receive({ payload: meter(2000) });
    await settle();
    assert.equal(requests.at(-1)?.powerW, 1500, 'shaves 2 kW down to the 0.5 kW threshold');

    ps.receive({ topic: 'site-settings', payload: effective(doc({ peakShavingMode: 'fixed', peakShavingThresholdKw: 0.5, reserveSocPct: 60, socMinPct: 5 })) });
    await settle();
    assert.ok((requests.at(-1)?.expiresAt ?? Infinity) <= Date.now(), 'the request made with the old reserve is withdrawn');
    ps.receive({ payload: meter(2000) });
    await settle();
    assert.equal(requests.at(-1)?.powerW, 0, 'SoC 50 % is under the 60 % reserve: no discharge');

    ps.receive({ topic: 'site-settings', payload: effective(null) });
    await settle();
    assert.ok((requests.at(-1)?.expiresAt ?? Infinity) <= Date.now(), 'its hold at the reserve ends with the document');
    const before = requests.length;
    ps.receive({ payload: meter(2000) });
    await settle();
    assert.equal(requests.length, before, 'without a document the node is off again, as configured');
  });

  it('peak shaving: recharges from an export up to the document window top and not above it', async () => {
    await helper.load(peakShaving, flow);
    const requests = collect(helper.getNode('requests'));
    const ps = helper.getNode('ps');
    ps.receive({ topic: 'site-settings', payload: effective(doc({ peakShavingMode: 'fixed', peakShavingThresholdKw: 0, socMaxPct: 95 })) });
    ps.receive({ payload: battery(50) });
    ps.receive({ payload: meter(-800) });
    await settle();
    assert.equal(requests.at(-1)?.powerW, -800);
    ps.receive({ topic: 'site-settings', payload: effective(doc({ peakShavingMode: 'fixed', peakShavingThresholdKw: 0, socMaxPct: 40, reserveSocPct: 20 })) });
    ps.receive({ payload: meter(-800) });
    await settle();
    assert.ok((requests.at(-1)?.expiresAt ?? Infinity) <= Date.now(), 'no charge above the 40 % top: the request is withdrawn');
  });

  it('arbitrage: a reserve above the SoC stops the discharge its plan asks for; switched off it withdraws its request', async () => {
    await helper.load(arbitrage, [
      { id: 'arb', type: 'arbitrage', siteId: 'site-1', powerKw: 5, capacityKwh: '', wires: [['requests'], []] },
      { id: 'requests', type: 'helper' },
    ]);
    const requests = collect(helper.getNode('requests'));
    const arb = helper.getNode('arb');
    const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
    arb.receive({ payload: siteTelemetry(50) });
    arb.receive({ topic: 'prices', payload: { start: hour, stepMinutes: 60, pricesEurPerMWh: [300, 20, 20] } });
    const first = await waitFor(requests, 1);
    assert.ok(first.powerW > 0, `dear now: discharge, got ${first.powerW} W`);

    arb.receive({ topic: 'site-settings', payload: effective(doc({ reserveSocPct: 60, socMinPct: 5, socMaxPct: 95 })) });
    const held = await waitFor(requests, 2);
    assert.ok(held.powerW <= 0, `SoC 50 % under the 60 % reserve: no discharge, got ${held.powerW} W`);

    arb.receive({ topic: 'site-settings', payload: effective(doc({ arbitrageEnabled: false })) });
    const off = await waitFor(requests, 3);
    assert.ok(off.expiresAt <= Date.now(), 'switched off: the request in force ends at once');
  });
});

async function waitFor(requests: Request[], n: number): Promise<Request> {
  const end = Date.now() + 10_000;
  while (requests.length < n) {
    if (Date.now() > end) throw new Error(`timed out waiting for request ${n}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return requests[n - 1] as Request;
}
