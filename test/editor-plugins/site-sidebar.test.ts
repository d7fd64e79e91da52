// The live site sidebar in real Chromium against a real edge editor with adminAuth: telemetry fed
// through safety-limits and the arbiter into a site-status node shows up in the "site" tab, SoC
// changes live, the view survives a reload, and only a user with write permission can
// acknowledge an alarm (an authorised HTTP call; the read-only user is refused). The strategy
// settings in force show with where they come from: the node configuration, then a document.
import assert from 'node:assert/strict';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import {
  authHeaders, deploy, login, openEditor, startEditor, stopEditor, waitForEditor, type EditorProcess,
} from './editor-process';
import { launch, requireChromium } from '../e2e/browser';
import { DEFAULT_SETTINGS_FIELDS } from '../../domain/site-settings/settings';

const SITE = 'site-1';

/** Battery telemetry as a sunspec-device sends it (ts is stamped when injected). */
function battery(soc: number, alarms: string[] = []): Record<string, unknown> {
  return {
    siteId: SITE, ts: 0,
    battery: {
      ts: 0, soc, soh: 98, voltage: 52.8, current: -10, power: -528, capacityWh: 10_000, energyAvailableWh: soc * 100,
      cellVmax: 3.32, cellVmin: 3.3, cellVavg: 3.31, cellVoltages: [], tempMax: 25, tempMin: 24, cellTemps: [],
      chargeCurrentMax: 100, dischargeCurrentMax: 100, chargePowerMax: 5000, dischargePowerMax: 5000, cycles: 12,
      state: 'CONNECTED', alarms,
    },
  };
}

const inject = (id: string, payload: unknown, y: number): Record<string, unknown> => ({
  id, type: 'inject', z: 'tab', name: id, props: [{ p: 'payload' }], repeat: '', crontab: '', once: false, onceDelay: 0.1,
  topic: '', payload: JSON.stringify(payload), payloadType: 'json', x: 120, y, wires: [['stamp']],
});

/** injects -> stamp -> safety limits -> arbiter, and all three into the site-status node. */
const FLOW = [
  { id: 'tab', type: 'tab', label: 'site', disabled: false, info: '' },
  inject('soc-40', battery(40), 40),
  inject('soc-60', battery(60, ['OVER_TEMP_WARNING']), 80),
  {
    id: 'stamp', type: 'function', z: 'tab', name: 'stamp now', outputs: 1, x: 300, y: 60, wires: [['safety', 'status']],
    func: 'const now = Date.now();\nmsg.payload.ts = now;\nmsg.payload.battery.ts = now;\nreturn msg;', initialize: '', finalize: '', libs: [], noerr: 0,
  },
  { id: 'safety', type: 'safety-limits', z: 'tab', name: '', siteId: SITE, cycleMs: 1000, staleCycles: 3, capacityWh: '', profile: '', x: 480, y: 60, wires: [['arbiter', 'status']] },
  { id: 'arbiter', type: 'arbiter', z: 'tab', name: '', rampWPerS: 1000, x: 640, y: 60, wires: [['status']] },
  { id: 'status', type: 'site-status', z: 'tab', name: '', siteId: SITE, rateHz: 2, x: 800, y: 120, wires: [] },
  {
    id: 'settings-doc', type: 'inject', z: 'tab', name: 'settings-doc', props: [{ p: 'payload' }], repeat: '', crontab: '', once: false, onceDelay: 0.1, topic: '',
    payload: JSON.stringify({ settings: { ...DEFAULT_SETTINGS_FIELDS, reserveSocPct: 33, peakShavingMode: 'fixed', v: 1, version: 7 } }), payloadType: 'json', x: 120, y: 160, wires: [['settings']],
  },
  { id: 'settings', type: 'site-settings', z: 'tab', name: '', link: '', siteId: SITE, socMinPct: 5, socMaxPct: 95, minWindowPct: 10, gridConnectionKw: '', x: 480, y: 160, wires: [['status'], []] },
];

async function press(url: string, id: string, token: string): Promise<void> {
  const res = await fetch(`${url}/editor/inject/${id}`, { method: 'POST', headers: authHeaders(token) });
  assert.equal(res.status, 200, `inject ${id}: ${res.status}`);
}

async function showSiteTab(page: Page): Promise<void> {
  // The editor selects its own default tab while it starts: ask until the site tab is the one shown.
  await page.waitForFunction(() => {
    const el = document.querySelector<HTMLElement>('.lifo4-site');
    if (el && el.offsetParent !== null) return true;
    if (el) (window as unknown as { RED: { sidebar: { show(id: string): void } } }).RED.sidebar.show('lifo4-site');
    return false;
  }, undefined, { timeout: 30_000, polling: 250 });
}

const soc = (page: Page): ReturnType<Page['locator']> => page.locator('.lifo4-site .lifo4-site-soc');

describe('live site sidebar (Chromium)', function () {
  this.timeout(180_000);
  let editor: EditorProcess;
  let browser: Browser;
  let admin: string;
  let viewer: string;
  const contexts: BrowserContext[] = [];

  before(async function () {
    requireChromium(this);
    editor = await startEditor({ auth: true });
    browser = await launch();
    admin = await login(editor.url, 'admin');
    viewer = await login(editor.url, 'viewer');
    await deploy(editor.url, FLOW, admin);
  });
  after(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    if (editor) await stopEditor(editor);
  });

  /** A page in a browser context of its own: each user keeps their own stored token. */
  async function pageFor(token: string): Promise<Page> {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    await openEditor(page, editor.url, token);
    await showSiteTab(page);
    return page;
  }

  it('shows SoC changing live, the envelope and the arbiter decision, and the same after a reload', async () => {
    const page = await pageFor(admin);
    await press(editor.url, 'soc-40', admin);
    await soc(page).filter({ hasText: 'SoC 40.0 %' }).waitFor({ timeout: 20_000 });
    await press(editor.url, 'soc-60', admin);
    await soc(page).filter({ hasText: 'SoC 60.0 %' }).waitFor({ timeout: 20_000 });
    await page.locator('.lifo4-site .lifo4-site-mode').waitFor({ timeout: 20_000 });
    await page.locator('.lifo4-site .lifo4-site-decisions tr').first().waitFor({ timeout: 20_000 });
    assert.match(await page.locator('.lifo4-site .lifo4-site-battery').innerText(), /-0\.53 kW/);
    // The limits tightest first per direction, the one that sets each direction's maximum marked.
    const limits = await page.locator('.lifo4-site .lifo4-site-limits tr').evaluateAll((rows) => rows.map((r) => ({
      direction: r.children[0]?.textContent ?? '', binding: r.classList.contains('lifo4-site-binding'), kw: parseFloat(r.children[2]?.textContent ?? ''),
    })));
    assert.ok(limits.length > 0);
    for (const dir of new Set(limits.map((l) => l.direction))) {
      const mine = limits.filter((l) => l.direction === dir);
      assert.deepEqual(mine.map((l) => l.kw), [...mine.map((l) => l.kw)].sort((a, b) => a - b), `${dir} limits sorted`);
      assert.equal(mine[0]?.binding, true, `${dir}: the tightest limit is marked binding`);
    }
    // Alarms come before the envelope, so they are above the fold.
    assert.ok(await page.evaluate(() => {
      const alarms = document.querySelector('.lifo4-site .lifo4-site-alarms');
      const limitsTable = document.querySelector('.lifo4-site .lifo4-site-limits');
      return Boolean(alarms && limitsTable && alarms.compareDocumentPosition(limitsTable) & Node.DOCUMENT_POSITION_FOLLOWING);
    }));

    await page.reload();
    await waitForEditor(page);
    await showSiteTab(page);
    // No new telemetry since: what shows comes from the retained topic / the snapshot endpoint.
    await soc(page).filter({ hasText: 'SoC 60.0 %' }).waitFor({ timeout: 20_000 });
  });

  it('serves the snapshot to a reader and lets only a writer acknowledge an alarm', async () => {
    await press(editor.url, 'soc-60', admin);
    const snapshot = async (): Promise<{ sites: { siteId: string; battery: { soc: number } | null; alarms: { code: string; source: string; ack: { by: string } | null }[] }[] }> => {
      const res = await fetch(`${editor.url}/editor/lifo4/site`, { headers: authHeaders(viewer) });
      assert.equal(res.status, 200);
      return (await res.json()) as never;
    };
    assert.equal((await fetch(`${editor.url}/editor/lifo4/site`)).status, 401, 'no token, no site data');
    let site = (await snapshot()).sites.find((s) => s.siteId === SITE);
    for (let i = 0; i < 50 && !site?.alarms.some((a) => a.code === 'BMS_WARNING'); i++) {
      await new Promise((r) => setTimeout(r, 200));
      site = (await snapshot()).sites.find((s) => s.siteId === SITE);
    }
    const alarm = site?.alarms.find((a) => a.code === 'BMS_WARNING');
    assert.ok(alarm, `a BMS warning is active: ${JSON.stringify(site?.alarms)}`);
    assert.equal(alarm.ack, null);

    // The read-only user: the button is there, the server refuses, the alarm stays unacknowledged.
    const viewerPage = await pageFor(viewer);
    const viewerAlarm = viewerPage.locator('.lifo4-site-alarm[data-code="BMS_WARNING"]');
    await viewerAlarm.locator('button.lifo4-site-ack').click({ timeout: 20_000 });
    await viewerPage.locator('.red-ui-notification', { hasText: 'not permitted' }).waitFor({ timeout: 10_000 });
    const refused = await fetch(`${editor.url}/editor/lifo4/site/${SITE}/alarms/ack`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...authHeaders(viewer) }, body: JSON.stringify({ source: alarm.source, code: alarm.code }),
    });
    // Node-RED's needsPermission answers an insufficient scope with 401, as it does a missing token.
    assert.equal(refused.status, 401);
    assert.equal((await snapshot()).sites.find((s) => s.siteId === SITE)?.alarms.find((a) => a.code === 'BMS_WARNING')?.ack, null);

    // The admin acknowledges in the sidebar; every open editor (the viewer's too) sees who did.
    const adminPage = await pageFor(admin);
    await adminPage.locator('.lifo4-site-alarm[data-code="BMS_WARNING"] button.lifo4-site-ack').click({ timeout: 20_000 });
    await viewerAlarm.locator('.lifo4-site-acked', { hasText: 'acknowledged by admin' }).waitFor({ timeout: 20_000 });
    assert.equal((await snapshot()).sites.find((s) => s.siteId === SITE)?.alarms.find((a) => a.code === 'BMS_WARNING')?.ack?.by, 'admin');
  });

  it('shows the strategy settings in force and where they come from: node configuration, then a document', async () => {
    const page = await pageFor(viewer);
    await press(editor.url, 'soc-40', admin);
    const source = page.locator('.lifo4-site .lifo4-site-settings-source');
    await source.filter({ hasText: 'From: node configuration' }).waitFor({ timeout: 20_000 });
    await press(editor.url, 'settings-doc', admin);
    await source.filter({ hasText: 'From: settings document version 7 by the flow' }).waitFor({ timeout: 20_000 });
    const rows = await page.locator('.lifo4-site .lifo4-site-settings-table tr').evaluateAll((trs) => trs.map((r) => Array.from({ length: r.children.length }, (_, i) => r.children[i]?.textContent ?? '')));
    assert.deepEqual(rows.find((r) => r[0] === 'Reserve SoC'), ['Reserve SoC', '33 %', 'document v7']);
    assert.deepEqual(rows.find((r) => r[0] === 'Peak shaving'), ['Peak shaving', 'fixed · 5 kW', 'document v7']);
  });
});
