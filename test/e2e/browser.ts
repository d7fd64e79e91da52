// Debian's Chromium through playwright-core (no browser download: /usr/bin/chromium), with every console
// error and failed request of a page collected so a test can insist there were none.
import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { requireService } from '../services/service';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
export const SCREENSHOTS = resolve(__dirname, '../../../test/e2e/screenshots');

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM);
}

/** In a before hook: skips the suite without Chromium, or fails it under CI=true. */
export function requireChromium(ctx: Mocha.Context): void {
  requireService(ctx, `Chromium at ${CHROMIUM}`, chromiumAvailable(), 'apt-get install chromium, or set CHROMIUM_PATH');
}

export function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  /** Console errors, uncaught exceptions and HTTP errors (4xx/5xx) seen so far. */
  problems: string[];
  /**
   * Declares an HTTP error that is part of a protocol, not a fault: the sign-in's 401
   * totp_required (ask for the code) and 403 enrollment_required (enrol first). Chromium logs
   * every 4xx as a console error, so those are forgiven too, for this method, path and status only.
   */
  expectHttp(method: string, path: string, status: number): void;
  close(): Promise<void>;
}

export async function openPage(browser: Browser, opts: { width?: number; height?: number } = {}): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport: { width: opts.width ?? 1280, height: opts.height ?? 900 }, serviceWorkers: 'block' });
  const page = await context.newPage();
  const problems: string[] = [];
  const expected = new Set<string>();
  const isExpected = (method: string, url: string, status: number) => expected.has(`${method} ${new URL(url).pathname} ${status}`);
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const failed = /^Failed to load resource: the server responded with a status of (\d{3})/.exec(m.text());
    // Chromium's own line for a 4xx names no method: forgiven when its URL and status were declared for any.
    if (failed && [...expected].some((e) => e.endsWith(` ${new URL(m.location().url).pathname} ${failed[1]}`))) return;
    problems.push(`console.error: ${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => problems.push(`uncaught: ${e.message}`));
  page.on('response', (r) => {
    if (r.status() >= 400 && !isExpected(r.request().method(), r.url(), r.status())) problems.push(`HTTP ${r.status()} ${r.request().method()} ${r.url()}`);
  });
  return {
    page, context, problems,
    expectHttp: (method, path, status) => expected.add(`${method} ${path} ${status}`),
    close: () => context.close(),
  };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = resolve(SCREENSHOTS, `${name}.png`);
  // From the top: a scrolled page would show the sticky header in the middle of a full-page shot.
  await page.evaluate('window.scrollTo(0, 0)');
  await page.screenshot({ path, fullPage: true });
  return path;
}
