// Remote strategy settings end to end, in Debian's Chromium against `lifo4 start` (cloud, edge and
// simulator on free ports): a MANAGER's settings page sends a document that reaches the simulated
// site and changes what it does (peak shaving at a 0 kW threshold charges the battery from the
// morning's PV export; a lower SoC ceiling stops that charge), the edge keeps it across a restart of
// its runtime, the audit log says who sent what; a document outside the site's SoC limits is refused
// with the site's reason and the settings in force stay; a VIEWER sees the settings read-only.
// The simulator starts at 08:00 on a June day, when the household exports its PV surplus.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Browser, Page } from 'playwright-core';
import { launch, openPage, requireChromium, screenshot, type WatchedPage } from './browser';
import { signIn, until } from './steps';
import { startTarget, type Target } from './target';

const PASSWORD = 'e2e-password-0123';
const MANAGER = 'manager@e2e.example';
const VIEWER = 'viewer@e2e.example';

interface SimState { pcs: { power: number; setpoint: number }; meter: { grid: number }; pack: { soc: number } }

async function sim(t: Target): Promise<SimState> {
  const r = await fetch(`${t.controlUrl}/state`);
  assert.equal(r.status, 200);
  return (await r.json()) as SimState;
}

/**
 * Lets the automatic levels run: a start (or restart) whose first cycles saw stale telemetry holds
 * them after that SAFE_MODE until someone resumes (README, "Safety and arbitration").
 */
async function resume(t: Target, bearer: string): Promise<void> {
  const r = await fetch(`${t.url}/api/v1/sites/${t.siteId}/commands`, { method: 'POST', headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' }, body: JSON.stringify({ type: 'mode', mode: 'auto' }) });
  assert.equal(r.status, 200, await r.text());
}

async function token(t: Target, email: string): Promise<string> {
  const r = await fetch(`${t.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: PASSWORD }) });
  assert.equal(r.status, 200);
  return ((await r.json()) as { accessToken: string }).accessToken;
}

/** The site's newest stored record: when, and which arbiter level won (null: nothing asked). */
async function latest(t: Target, bearer: string): Promise<{ ts: number; level: number | null; setpointW: number | null } | null> {
  const r = await fetch(`${t.url}/api/v1/sites/${t.siteId}/telemetry/latest`, { headers: { authorization: `Bearer ${bearer}` } });
  if (r.status !== 200) return null;
  const b = (await r.json()) as { ts: string; fields: Record<string, number | null> };
  return { ts: Date.parse(b.ts), level: b.fields.decisionLevel ?? null, setpointW: b.fields.setpointW ?? null };
}

/** The simulated PCS's setpoint stays within `test` at every look for `ms`. */
async function holds(t: Target, ms: number, test: (setpointW: number) => boolean, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const s = await sim(t);
    assert.ok(test(s.pcs.setpoint), `${what}: PCS setpoint ${s.pcs.setpoint} W (grid ${s.meter.grid.toFixed(0)} W, SoC ${s.pack.soc.toFixed(1)} %)`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe('remote strategy settings, from the dashboard to the simulated site (e2e)', function () {
  this.timeout(300_000);
  let target: Target | null = null;
  let browser: Browser | null = null;
  let current: WatchedPage | null = null;

  before(async function () {
    requireChromium(this);
    target = await startTarget();
    if (!target.dataDir) this.skip(); // the edge restart and the audit log need `lifo4 start` run here
    await target.addUser(MANAGER, 'MANAGER', PASSWORD);
    await target.addUser(VIEWER, 'VIEWER', PASSWORD);
    browser = await launch();
  });

  after(async () => {
    await current?.close();
    await browser?.close();
    await target?.close();
  });

  afterEach(async function () {
    const problems = current?.problems ?? [];
    await current?.close();
    current = null;
    if (this.currentTest?.state === 'passed') assert.deepEqual(problems, [], 'the pages logged errors');
  });

  async function settingsPage(email: string): Promise<Page> {
    await current?.close();
    current = await openPage(browser as Browser);
    const p = current.page;
    const t = target as Target;
    await signIn(p, t.url, email, PASSWORD);
    await p.goto(`${t.url}/settings?sites=${t.siteId}`);
    await p.waitForSelector('[data-test=settings-form]');
    return p;
  }

  async function sendFromPage(p: Page, fill: Record<string, string>, peakMode?: string): Promise<string> {
    if (peakMode) await p.selectOption('[data-test=peak-mode]', peakMode);
    for (const [field, value] of Object.entries(fill)) await p.fill(`[data-test=${field}]`, value);
    await p.click('[data-test=settings-send]');
    const o = p.locator('[data-test=settings-outcome]');
    await o.waitFor({ timeout: 60_000 });
    return `${await o.getAttribute('data-outcome')}: ${(await o.innerText()).replace(/\s+/g, ' ')}`;
  }

  it('a MANAGER sends settings that change what the site does; they survive an edge restart and are audited', async () => {
    const t = target as Target;
    const p = await settingsPage(MANAGER);
    assert.match(await p.locator('[data-test=settings-source]').innerText(), /node configuration/);
    const bearer = await token(t, MANAGER);
    await resume(t, bearer);
    // The site has a PV surplus at 08:00 (exported, or already charging the battery if arbitrage
    // plans so): peak shaving at 0 kW then charges the battery with it.
    await until('a PV surplus at the site', 60_000, async () => {
      const s = await sim(t);
      return s.meter.grid + s.pcs.power < -200 ? true : null;
    });
    await p.uncheck('[data-test=arbitrage-enabled]');
    const first = await sendFromPage(p, { 'peak-threshold': '0', 'reserve-soc': '20', 'soc-min': '5', 'soc-max': '95' }, 'fixed');
    assert.match(first, /^applied: .*settings version 1/, first);
    await until('the PCS charging from the export', 60_000, async () => ((await sim(t)).pcs.setpoint < -100 ? true : null));
    await screenshot(p, 'settings-applied');

    // A ceiling below the SoC now (about 50 %) ends the recharge: nothing else may ask (arbitrage is off).
    const second = await sendFromPage(p, { 'soc-max': '40' });
    assert.match(second, /^applied: .*settings version 2/, second);
    await until('the charge stopped', 60_000, async () => (Math.abs((await sim(t)).pcs.setpoint) < 1 ? true : null));
    await holds(t, 5_000, (w) => Math.abs(w) < 1, 'after the ceiling fell below the SoC');

    // The edge's runtime killed: the agent starts it again, and it finds version 2 in its user directory.
    const pid = Number(readFileSync(join(t.dataDir as string, 'edge-agent', 'runtime.pid'), 'utf8').split(' ')[0]);
    assert.ok(pid > 1);
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    const back = await until('telemetry from the restarted edge', 120_000, async () => {
      const l = await latest(t, bearer);
      return l && l.ts > killedAt + 5_000 ? l : null;
    });
    assert.ok(back);
    // Automatic operation resumed: without the kept document the shipped flow's arbitrage (level 5) would run again.
    await resume(t, bearer);
    const resumedAt = Date.now();
    const after = await until('a record after the resume', 60_000, async () => {
      const l = await latest(t, bearer);
      return l && l.ts > resumedAt + 3_000 ? l : null;
    });
    assert.equal(after.level, null, `after the restart something runs: ${JSON.stringify(after)}`);
    await holds(t, 10_000, (w) => Math.abs(w) < 1, 'after the edge restart');
    await p.reload();
    await p.waitForSelector('[data-test=settings-form]');
    assert.match(await p.locator('[data-test=settings-source]').innerText(), /Settings version 2, applied .* by manager@e2e\.example/);

    const db = new Database(join(t.dataDir as string, 'cloud.db'), { readonly: true });
    try {
      const rows = db.prepare("SELECT email, role, target, outcome, details FROM audit WHERE action = 'putSiteSettings' ORDER BY id").all() as { email: string; role: string; target: string; outcome: string; details: string }[];
      assert.equal(rows.length, 2);
      for (const r of rows) assert.deepEqual([r.email, r.role, r.target, r.outcome], [MANAGER, 'MANAGER', t.siteId, 'success']);
      const d = JSON.parse(rows[1]!.details) as { version: number; settings: { socMaxPct: number; arbitrageEnabled: boolean } };
      assert.equal(d.version, 2);
      assert.equal(d.settings.socMaxPct, 40);
      assert.equal(d.settings.arbitrageEnabled, false);
    } finally {
      db.close();
    }
  });

  it("refuses a document outside the site's SoC limits with the site's reason; version 2 stays", async () => {
    const t = target as Target;
    const p = await settingsPage(MANAGER);
    current?.expectHttp('PUT', `/api/v1/sites/${t.siteId}/settings`, 409);
    const refused = await sendFromPage(p, { 'soc-min': '2', 'reserve-soc': '10' });
    assert.match(refused, /^rejected: .*Refused by the site, its settings unchanged: .*SoC window minimum 2 % is below the battery's lowest SoC of 5 %/, refused);
    await screenshot(p, 'settings-refused');
    const bearer = await token(t, MANAGER);
    const r = await fetch(`${t.url}/api/v1/sites/${t.siteId}/settings`, { headers: { authorization: `Bearer ${bearer}` } });
    const b = (await r.json()) as { settings: { version: number; socMinPct: number } | null };
    assert.equal(b.settings?.version, 2);
    assert.equal(b.settings?.socMinPct, 5);
    await holds(t, 3_000, (w) => Math.abs(w) < 1, 'after the refusal');
  });

  it('a VIEWER sees the settings in force, read-only', async () => {
    const p = await settingsPage(VIEWER);
    assert.match(await p.locator('[data-test=settings-readonly]').innerText(), /Read-only: your role \(VIEWER\)/);
    assert.match(await p.locator('[data-test=settings-source]').innerText(), /Settings version 2/);
    assert.equal(await p.locator('[data-test=soc-max]').inputValue(), '40');
    assert.ok(await p.locator('[data-test=soc-max]').isDisabled());
    assert.equal(await p.locator('[data-test=settings-send]').count(), 0);
  });

  it("the fleet page offers a MANAGER the settings of the sites its filter shows, and a VIEWER not", async () => {
    const t = target as Target;
    await current?.close();
    current = await openPage(browser as Browser);
    const p = current.page;
    await signIn(p, t.url, MANAGER, PASSWORD);
    await p.waitForSelector(`[data-site="${t.siteId}"]`);
    await p.click('[data-test=fleet-settings]');
    await p.waitForURL(new RegExp(`/settings\\?sites=${t.siteId}$`));
    assert.match(await p.locator('[data-test=settings-source]').innerText(), /Settings version 2/);

    await current.close();
    current = await openPage(browser as Browser);
    await signIn(current.page, t.url, VIEWER, PASSWORD);
    await current.page.waitForSelector(`[data-site="${t.siteId}"]`);
    assert.equal(await current.page.locator('[data-test=fleet-settings]').count(), 0);
  });
});
