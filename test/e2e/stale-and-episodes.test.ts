// What the operator sees is true, in Debian's Chromium against `lifo4 start`, at 1280 px and on a
// phone (375x812):
//  - one fault (a simulated over-temperature) gives one alarm episode, its knock-on alarms under
//    the root, the cloud's band not repeating the edge's alarm; one press acknowledges them all,
//    as the signed-in user; every alarm card fits the phone's width;
//  - a silenced edge (its process stopped with SIGSTOP: no telemetry, no goodbye) turns the site
//    stale on the fleet and site pages, the command panel says commands cannot be confirmed, and
//    the cloud raises COMMUNICATION_LOST within 30 s; when the edge resumes, the alarm clears and
//    shows as cleared.
// Without Chromium the suite skips locally and fails under CI=true. Only the `lifo4 start` target
// has an edge process to stop; the harness and external targets skip the second part.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { launch, openPage, requireChromium, screenshot, type WatchedPage } from './browser';
import { signIn, until } from './steps';
import { startTarget, type Target } from './target';

const PASSWORD = 'e2e-password-0123';
const OPERATOR = 'operator@stale.example';
const PHONE = { width: 375, height: 812 };

interface ApiAlarm { id: number; code: string; state: string; episodeId: number; acknowledgedBy: string | null; siteId: string }

/** The API as the operator, with an access token of its own (the pages keep theirs). */
async function apiAs(url: string): Promise<<T>(path: string) => Promise<T>> {
  const login = await fetch(`${url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: OPERATOR, password: PASSWORD }) });
  assert.equal(login.status, 200, await login.clone().text());
  const { accessToken } = (await login.json()) as { accessToken: string };
  return async <T>(path: string): Promise<T> => {
    const res = await fetch(`${url}/api/v1${path}`, { headers: { authorization: `Bearer ${accessToken}` } });
    assert.equal(res.status, 200, `${path}: ${res.status}`);
    return (await res.json()) as T;
  };
}

/** A process and everything below it (the edge's OTA agent runs the edge runtime as its child), parents first. */
function processTree(root: number): number[] {
  const parentOf = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // Field 4 of /proc/PID/stat, after the parenthesised command name.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parentOf.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // the process ended meanwhile
    }
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) for (const [pid, ppid] of parentOf) if (ppid === out[i]) out.push(pid);
  return out;
}

/**
 * Elements of the page's content that reach past the viewport (unless an ancestor clips them, as
 * the map's frame does its tiles), and alarm cards whose content is wider than the card.
 */
async function overflows(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const vw = document.documentElement.clientWidth;
    const out: string[] = [];
    if (document.documentElement.scrollWidth > vw + 1) out.push(`the page scrolls sideways: ${document.documentElement.scrollWidth} px in ${vw} px`);
    const clipped = (el: Element): boolean => {
      for (let a = el.parentElement; a; a = a.parentElement) if (/hidden|clip/.test(getComputedStyle(a).overflowX)) return true;
      return false;
    };
    // The page's own content; the navigation bar is the layout's (it scrolls sideways by design).
    for (const el of Array.from(document.querySelectorAll('main *'))) {
      const r = el.getBoundingClientRect();
      if (r.width > 0 && (r.right > vw + 1 || r.left < -1) && !clipped(el)) out.push(`${el.tagName.toLowerCase()}.${el.getAttribute('class') ?? ''} ${Math.round(r.left)}..${Math.round(r.right)} of ${vw}`);
    }
    for (const card of Array.from(document.querySelectorAll<HTMLElement>('.alarm-card'))) {
      if (card.scrollWidth > card.clientWidth + 1) out.push(`alarm card ${card.dataset.code} content ${card.scrollWidth} px in ${card.clientWidth} px`);
    }
    return out.slice(0, 10);
  });
}

describe('stale data and alarm episodes in Chromium (e2e)', function () {
  this.timeout(240_000);
  let target: Target | null = null;
  let browser: Browser | null = null;
  const pages: WatchedPage[] = [];

  before(async function () {
    requireChromium(this);
    target = await startTarget();
    await target.addUser(OPERATOR, 'OPERATOR', PASSWORD);
    browser = await launch();
  });

  after(async () => {
    for (const p of pages) await p.close();
    await browser?.close();
    await target?.close();
  });

  async function page(size: { width: number; height: number } = { width: 1280, height: 900 }): Promise<Page> {
    const w = await openPage(browser as Browser, size);
    pages.push(w);
    return w.page;
  }

  afterEach(function () {
    const problems = pages.flatMap((p) => p.problems);
    if (this.currentTest?.state === 'passed') assert.deepEqual(problems, [], 'the pages logged errors');
  });

  it('one over-temperature is one alarm episode, acknowledged at once, and its cards fit a phone', async () => {
    const t = target as Target;
    const api = await apiAs(t.url);
    const desk = await page();
    const phone = await page(PHONE);
    await signIn(desk, t.url, OPERATOR, PASSWORD);
    await signIn(phone, t.url, OPERATOR, PASSWORD);
    await desk.waitForSelector(`[data-site="${t.siteId}"] [data-test=fleet-state][data-state=online]`, { timeout: 60_000 });
    const injected = await fetch(`${t.controlUrl}/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'over-temperature' }) });
    assert.equal(injected.status, 201);
    try {
      await desk.goto(`${t.url}/alarms`);
      const card = desk.locator(`[data-test=alarm-episodes] > li[data-code=OVER_TEMPERATURE][data-site="${t.siteId}"]`);
      await card.waitFor({ timeout: 90_000 });
      // The knock-on alarms arrive over a few control cycles: wait until the edge's set is complete.
      const open = await until('the over-temperature and its knock-on alarms', 60_000, async () => {
        const r = await api<{ alarms: ApiAlarm[] }>(`/alarms?siteId=${t.siteId}&state=active`);
        return r.alarms.some((a) => a.code === 'BMS_ALARM') ? r.alarms : null;
      });
      const root = open.find((a) => a.code === 'OVER_TEMPERATURE') as ApiAlarm;
      const knockOn = open.filter((a) => /^(BMS_|PCS_FAULT|CHARGE_TEMPERATURE|DISCHARGE_TEMPERATURE)/.test(a.code));
      assert.ok(knockOn.length >= 2, `knock-on alarms: ${open.map((a) => a.code).join(', ')}`);
      for (const a of knockOn) assert.equal(a.episodeId, root.id, `${a.code} belongs to the over-temperature's episode`);
      assert.ok(!open.some((a) => a.code === 'TEMPERATURE_OUT_OF_BAND'), "the cloud's band does not repeat the edge's OVER_TEMPERATURE");
      assert.equal(await desk.locator(`[data-test=alarm-episodes] > li[data-site="${t.siteId}"]`).filter({ hasText: /BMS_ALARM/ }).count(), 1, 'the knock-on alarms are on the root card only');
      await card.locator('summary').click();
      assert.match(await card.locator('[data-test=remedy]').innerText(), /What to do: .*ventilation/);
      await screenshot(desk, 'alarm-episode');

      // The phone: every card fits, the actions are reachable.
      await phone.goto(`${t.url}/alarms`);
      const phoneCard = phone.locator(`[data-test=alarm-episodes] > li[data-code=OVER_TEMPERATURE][data-site="${t.siteId}"]`);
      await phoneCard.waitFor({ timeout: 30_000 });
      await phoneCard.locator('summary').click();
      assert.deepEqual(await overflows(phone), [], 'nothing wider than the 375 px viewport');
      for (const sel of ['[data-test=ack-episode]', '[data-test=silence]']) assert.ok(await phoneCard.locator(sel).isVisible(), `${sel} visible on the phone`);
      await screenshot(phone, 'alarm-episode-375');

      // One press on the phone acknowledges the whole episode, as the operator.
      await phoneCard.locator('[data-test=ack-episode]').click();
      await phone.locator(`[data-test=alarm-episodes] > li[data-episode="${root.id}"][data-state=acknowledged]`).waitFor({ timeout: 30_000 });
      const after = await api<{ alarms: ApiAlarm[] }>(`/alarms?siteId=${t.siteId}&state=acknowledged`);
      for (const a of [root, ...knockOn]) assert.equal(after.alarms.find((x) => x.id === a.id)?.acknowledgedBy, OPERATOR, `${a.code} acknowledged by the operator`);
      // The other browser hears it over the realtime channel.
      await desk.locator(`[data-test=alarm-episodes] > li[data-episode="${root.id}"][data-state=acknowledged]`).waitFor({ timeout: 30_000 });
    } finally {
      await fetch(`${t.controlUrl}/faults`, { method: 'DELETE' });
    }
  });

  it('a silenced edge turns the site stale and raises COMMUNICATION_LOST within 30 s, cleared when it returns', async function () {
    const t = target as Target;
    const pid = Number(/edge started \(pid (\d+)\)/.exec(t.log())?.[1] ?? 0);
    if (!pid) this.skip(); // the harness and external targets have no edge process of ours
    const api = await apiAs(t.url);
    const desk = await page();
    const phone = await page(PHONE);
    await signIn(desk, t.url, OPERATOR, PASSWORD);
    await signIn(phone, t.url, OPERATOR, PASSWORD);
    await desk.goto(`${t.url}/sites/${t.siteId}`);
    await desk.waitForSelector('[data-test=site-state][data-state=online]', { timeout: 60_000 });
    assert.equal(await desk.locator('[data-test=stale-banner]').count(), 0, 'no stale banner while data flows');

    const edge = processTree(pid);
    const resume = () => { for (const p of [...edge].reverse()) process.kill(p, 'SIGCONT'); };
    for (const p of edge) process.kill(p, 'SIGSTOP');
    const stoppedAt = Date.now();
    try {
      await desk.waitForSelector('[data-test=site-state][data-state=stale]', { timeout: 30_000 });
      assert.match(await desk.locator('[data-test=site-state]').innerText(), /no data since/);
      await desk.waitForSelector('[data-test=stale-banner]');
      await desk.waitForSelector('[data-test=commands-unconfirmed]');
      assert.equal(await desk.locator('.kpis[data-fresh=fresh]').count(), 0, 'the KPIs are marked as not current');
      const lost = await until('COMMUNICATION_LOST', 30_000 - (Date.now() - stoppedAt), async () => {
        const r = await api<{ alarms: ApiAlarm[] }>(`/alarms?siteId=${t.siteId}&state=active`);
        return r.alarms.find((a) => a.code === 'COMMUNICATION_LOST') ?? null;
      });
      assert.ok(Date.now() - stoppedAt < 30_000, `raised ${Date.now() - stoppedAt} ms after the edge fell silent`);
      await screenshot(desk, 'site-stale');

      await phone.goto(`${t.url}/fleet`);
      // Stale, or offline once the broker's keepalive gives up on the stopped edge and its last will arrives.
      await phone.waitForSelector(`[data-site="${t.siteId}"] [data-test=fleet-state]:is([data-state=stale], [data-state=offline])`, { timeout: 30_000 });
      assert.deepEqual(await overflows(phone), [], 'the fleet fits the phone');
      await screenshot(phone, 'fleet-stale-375');
      await phone.goto(`${t.url}/alarms`);
      await phone.locator(`[data-test=alarm-episodes] > li[data-code=COMMUNICATION_LOST]`).waitFor({ timeout: 30_000 });
      assert.deepEqual(await overflows(phone), [], 'the alarms fit the phone');

      resume();
      await phone.locator(`[data-test=cleared-list] > li[data-code=COMMUNICATION_LOST]`).waitFor({ timeout: 60_000 });
      await desk.waitForSelector('[data-test=site-state][data-state=online]', { timeout: 30_000 });
      assert.equal(await desk.locator('[data-test=stale-banner]').count(), 0);
      const cleared = await api<{ alarms: (ApiAlarm & { clearedAt: string | null })[] }>(`/alarms?siteId=${t.siteId}&state=cleared`);
      assert.ok(cleared.alarms.find((a) => a.id === lost.id)?.clearedAt, 'the clearing has its time');
    } finally {
      resume();
    }
  });
});
