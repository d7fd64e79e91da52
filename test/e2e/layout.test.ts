// Every dashboard page fits the supported widths (a 375 px phone and a 1280 px desktop), checked by
// script in Debian's Chromium against `lifo4 start`: the document never scrolls sideways and no
// visible element reaches past the right edge, the navigation included. Content clipped on purpose
// (an ellipsis, a visually hidden label) does not count; content in a sideways-scrolling box does.
// The dashboard's files come compressed. One runtime and one SUPER_ADMIN session (every page) serve
// all the checks. Without Chromium the suite skips locally and fails under CI=true.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import http from 'node:http';
import { join, resolve } from 'node:path';
import { generate } from 'otplib';
import type { Browser, Page } from 'playwright-core';
import { launch, openPage, requireChromium, screenshot, type WatchedPage } from './browser';
import { startTarget, type Target } from './target';

/** The built dashboard the runtime serves (this file runs from dist/test/e2e). */
const DASHBOARD_DIST = resolve(__dirname, '../../../dashboard/dist');
/** One SUPER_ADMIN per width: each enrols its TOTP once, in its own browser context. */
const email = (width: number) => `layout-${width}@e2e.example`;
const PASSWORD = 'e2e-layout-password-0123';

interface Overflow {
  scrollWidth: number;
  innerWidth: number;
  offenders: string[];
}

/** Runs in the page: the document's width and the visible elements that end past the right edge. */
function measureOverflow(): Overflow {
  const vw = document.documentElement.clientWidth;
  const clipped = (el: Element): boolean => {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      const o = getComputedStyle(a);
      // Hidden or clipped overflow is a deliberate cut (ellipsis, sr-only); auto/scroll is a sideways scroll.
      if (/(hidden|clip)/.test(o.overflowX) || o.clipPath !== 'none' || (o.clip && o.clip !== 'auto')) return true;
    }
    return false;
  };
  const offenders: string[] = [];
  for (const el of Array.from(document.querySelectorAll('body *'))) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    const s = getComputedStyle(el);
    if (s.visibility === 'hidden' || s.display === 'none' || s.opacity === '0') continue;
    if (r.right <= vw + 1 || clipped(el)) continue;
    const cls = typeof el.className === 'string' && el.className ? `.${el.className.trim().split(/\s+/).join('.')}` : '';
    const test = el.getAttribute('data-test');
    offenders.push(`${el.tagName.toLowerCase()}${cls}${test ? `[data-test=${test}]` : ''} right=${Math.round(r.right)} width=${Math.round(r.width)} "${(el.textContent ?? '').trim().slice(0, 40)}"`);
  }
  return { scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth, offenders };
}

/** A SUPER_ADMIN session through the API in the page's cookie jar: enrol TOTP, confirm it, keep the refresh cookie. */
async function signInByApi(w: WatchedPage, url: string, who: string): Promise<string> {
  const api = w.context.request;
  const login = await api.post(`${url}/api/v1/auth/login`, { data: { email: who, password: PASSWORD } });
  assert.equal(login.status(), 403, 'a SUPER_ADMIN without TOTP is asked to enrol');
  const token = ((await login.json()) as { details: { enrollmentToken: string } }).details.enrollmentToken;
  const headers = { authorization: `Bearer ${token}` };
  const enrol = await api.post(`${url}/api/v1/auth/2fa/enroll`, { headers, data: {} });
  assert.equal(enrol.status(), 200, await enrol.text());
  const { secret } = (await enrol.json()) as { secret: string };
  const verify = await api.post(`${url}/api/v1/auth/2fa/verify`, { headers, data: { code: await generate({ secret }) } });
  assert.equal(verify.status(), 200, await verify.text());
  return ((await verify.json()) as { accessToken: string }).accessToken;
}

/** Waits until the cloud has the site's telemetry, so every page has something to lay out. */
async function siteReporting(url: string, siteId: string, accessToken: string): Promise<void> {
  const end = Date.now() + 120_000;
  while (Date.now() < end) {
    const r = await fetch(`${url}/api/v1/sites/${siteId}`, { headers: { authorization: `Bearer ${accessToken}` } });
    if (r.ok && ((await r.json()) as { latest?: unknown }).latest) return;
    await new Promise((ok) => setTimeout(ok, 1000));
  }
  throw new Error(`no telemetry of ${siteId} within 120 s`);
}

/** One GET with the headers a browser sends: the encoding the server chose and the bytes on the wire. */
function wireSize(url: string): Promise<{ encoding: string | undefined; bytes: number; status: number }> {
  return new Promise((ok, fail) => {
    http.get(url, { headers: { 'accept-encoding': 'br, gzip, deflate' } }, (res) => {
      let bytes = 0;
      res.on('data', (d: Buffer) => (bytes += d.length));
      res.on('end', () => ok({ encoding: res.headers['content-encoding'], bytes, status: res.statusCode ?? 0 }));
      res.on('error', fail);
    }).on('error', fail);
  });
}

describe('every dashboard page fits a phone and a desktop (e2e)', function () {
  this.timeout(300_000);
  let target: Target | null = null;
  let browser: Browser | null = null;

  before(async function () {
    requireChromium(this);
    target = await startTarget();
    for (const width of [375, 1280]) await target.addUser(email(width), 'SUPER_ADMIN', PASSWORD);
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
    await target?.close();
  });

  const pages = (t: Target): { name: string; path: string; ready: string }[] => [
    { name: 'fleet', path: '/fleet', ready: `[data-site="${t.siteId}"]` },
    { name: 'site', path: `/sites/${t.siteId}`, ready: '.echart canvas' },
    { name: 'alarms', path: '/alarms', ready: 'h1:has-text("Alarms")' },
    { name: 'schedule', path: `/schedule?site=${t.siteId}`, ready: 'h1:has-text("Schedule")' },
    { name: 'insights', path: `/sites/${t.siteId}/insights`, ready: 'h1:has-text("Insights")' },
    { name: 'financial', path: `/financial?site=${t.siteId}`, ready: '[data-test=financial-table] tbody tr' },
    { name: 'admin', path: '/admin', ready: '[data-test=users-table] tbody tr' },
    { name: 'ota', path: '/ota', ready: 'h1' },
    { name: 'account', path: '/account', ready: '[data-test=permissions] li' },
    { name: 'not-found', path: '/no-such-page', ready: 'h1' },
  ];

  async function visitAll(width: number, height: number): Promise<void> {
    const t = target as Target;
    const w = await openPage(browser as Browser, { width, height });
    try {
      const p: Page = w.page;
      await p.goto(`${t.url}/sign-in`);
      await p.waitForSelector('[data-test=email]');
      const failures: string[] = [];
      const check = async (name: string) => {
        const o = await p.evaluate(measureOverflow);
        if (o.scrollWidth > o.innerWidth) failures.push(`${name}: the document is ${o.scrollWidth} px wide in a ${o.innerWidth} px viewport`);
        if (o.offenders.length) failures.push(`${name}: ${o.offenders.length} element(s) past the right edge, e.g.\n    ${o.offenders.slice(0, 5).join('\n    ')}`);
      };
      await check('sign-in');
      await siteReporting(t.url, t.siteId, await signInByApi(w, t.url, email(width)));
      // The dashboard resumes a session through the refresh cookie when its hint says there is one
      // (SESSION_HINT_KEY of dashboard/src/stores/auth.ts), as after its own sign-in.
      await p.evaluate(() => localStorage.setItem('lifo4.session', '1'));
      for (const page of pages(t)) {
        await p.goto(`${t.url}${page.path}`);
        await p.waitForSelector(page.ready, { timeout: 60_000 });
        await p.waitForLoadState('networkidle');
        await check(page.name);
        await screenshot(p, `layout-${page.name}-${width}`);
      }
      // Every page of the navigation is on screen at this width, the alarm link with its badge's place.
      const nav = await p.locator('nav[aria-label=Main] a').evaluateAll((links) =>
        links.map((a) => ({ text: (a.textContent ?? '').trim(), right: a.getBoundingClientRect().right, bottom: a.getBoundingClientRect().bottom })));
      assert.ok(nav.length >= 7, `the SUPER_ADMIN's navigation lists every page (${nav.map((n) => n.text).join(', ')})`);
      for (const n of nav) assert.ok(n.right <= width && n.bottom > 0, `nav link ${n.text} is on screen at ${width} px (right ${n.right})`);
      assert.deepEqual(failures, [], `pages wider than ${width} px:\n${failures.join('\n')}`);
      assert.deepEqual(w.problems, [], 'the pages logged errors');
    } finally {
      await w.close();
    }
  }

  it('at 375 × 812 (a phone): no page scrolls sideways, no element past the right edge', async () => {
    await visitAll(375, 812);
  });

  it('at 1280 × 800 (a desktop): no page scrolls sideways, no element past the right edge', async () => {
    await visitAll(1280, 800);
  });

  it('serves the dashboard files compressed: the chart bundle is a fraction of its size on the wire', async () => {
    const t = target as Target;
    const index = await (await fetch(`${t.url}/`)).text();
    const linked = [...index.matchAll(/(?:src|href)="(\/assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1] as string);
    assert.ok(linked.length > 0, 'index.html links its assets');
    // The chart bundle comes with the first chart, not with index.html.
    const charts = readdirSync(join(DASHBOARD_DIST, 'assets')).filter((f) => /^charts-.*\.js$/.test(f)).map((f) => `/assets/${f}`);
    assert.equal(charts.length, 1, 'one chart bundle');
    const assets = [...linked, ...charts];
    const sizes: string[] = [];
    for (const a of assets) {
      const raw = (await (await fetch(`${t.url}${a}`, { headers: { 'accept-encoding': 'identity' } })).arrayBuffer()).byteLength;
      const wire = await wireSize(`${t.url}${a}`);
      assert.equal(wire.status, 200);
      if (raw < 1024) continue; // too small to be worth it: the middleware's threshold
      assert.match(wire.encoding ?? '', /^(br|gzip)$/, `${a} is sent compressed`);
      assert.ok(wire.bytes < raw / 2, `${a}: ${wire.bytes} B on the wire for ${raw} B`);
      sizes.push(`${a} ${raw} B -> ${wire.bytes} B ${wire.encoding}`);
    }
    console.log(`      ${sizes.join('\n      ')}`);
  });
});
