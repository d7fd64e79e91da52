// Steps the dashboard's Chromium tests share: waiting for a condition, and signing in as a user
// does (the form, then the TOTP code when the account has 2FA).
import type { Page } from 'playwright-core';
import { generate } from 'otplib';

/** Polls `probe` every 500 ms until it gives a value (not null, undefined or false). */
export async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | null | undefined | false>): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await probe();
      if (v !== null && v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out: ${what}${last ? ` (${String(last)})` : ''}`);
}

/** Signs in through the form and waits for the fleet page. */
export async function signIn(page: Page, url: string, email: string, password: string, totpSecret?: string): Promise<void> {
  await page.goto(`${url}/sign-in`);
  await page.fill('[data-test=email]', email);
  await page.fill('[data-test=password]', password);
  await page.click('[data-test=signin-submit]');
  if (totpSecret) {
    await page.waitForSelector('[data-test=totp]');
    // The code of the next 30 s step: the server accepts one step either side and never a step
    // already used (the enrolment used the current one).
    await page.fill('[data-test=totp]', await generate({ secret: totpSecret, epoch: Math.floor(Date.now() / 1000) + 30 }));
    await page.click('[data-test=signin-submit]');
  }
  await page.waitForURL(/\/fleet$/, { timeout: 30_000 });
}
