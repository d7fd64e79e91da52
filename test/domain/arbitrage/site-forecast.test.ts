// The site's own load and PV forecast (domain/forecast/site-forecast.ts): what it gives on days a
// reader can compute, and that it never looks past `now`.
import assert from 'node:assert/strict';
import { SiteHistory, SITE_STEP_MS } from '../../../domain/forecast/site-forecast';

const DAY = 86_400_000;
const T0 = Date.UTC(2014, 5, 1);
/** A sunny-day PV shape: 0 at night, up to `peak` kW at noon. */
const sun = (slot: number, peak: number): number => Math.max(0, Math.sin(((slot - 24) / 48) * Math.PI)) * peak;

function fill(h: SiteHistory, days: number, load: (d: number, slot: number) => number, pv: (d: number, slot: number) => number): void {
  for (let d = 0; d < days; d++) for (let s = 0; s < 96; s++) h.add(T0 + d * DAY + s * SITE_STEP_MS, load(d, s), pv(d, s));
}

describe('site forecast (domain/forecast/site-forecast)', () => {
  it('says nothing before a day of history', () => {
    const h = new SiteHistory();
    fill(h, 0, () => 1, () => 0);
    h.add(T0, 1, 0);
    assert.equal(h.forecast(T0 + SITE_STEP_MS, 4), null);
  });

  it('forecasts the load as the mean of the same time of day over the last week', () => {
    const h = new SiteHistory();
    // Day d draws d kW at every step: the mean over days 7..13 is 10.
    fill(h, 14, (d) => d, () => 0);
    const f = h.forecast(T0 + 14 * DAY, 96);
    assert.ok(f);
    // The deviation of the last step (13 - 10 = 3 kW) fades: far ahead only the mean is left.
    assert.ok(Math.abs((f.loadKw[95] as number) - 10) < 1e-3, `far ahead ${f.loadKw[95]}`);
    assert.ok((f.loadKw[0] as number) > 12, `the first step keeps most of the deviation: ${f.loadKw[0]}`);
  });

  it('gives a high net load: the same time of day\'s second-highest load less PV of the last week, a dull day among sunny ones', () => {
    const h = new SiteHistory();
    // A week of 0.5 kW load and sunny noons, except two dull days (PV 0) with 1 kW at noon.
    fill(h, 7, (d) => (d === 2 || d === 5 ? 1 : 0.5), (d, s) => (d === 2 || d === 5 ? 0 : sun(s, 4)));
    const f = h.forecast(T0 + 7 * DAY, 96);
    assert.ok(f?.netHighKw);
    // At noon the mean forecast is a surplus; the high net load is a dull day's 1 kW drawn.
    assert.ok((f.loadKw[48] as number) - (f.pvKw[48] as number) < 0);
    assert.ok(Math.abs((f.netHighKw[48] as number) - 1) < 1e-9, `noon ${f.netHighKw[48]}`);
    f.netHighKw.forEach((x, i) => assert.ok(x >= (f.loadKw[i] as number) - (f.pvKw[i] as number) - 1e-9, `step ${i} below the mean forecast`));
  });

  it('forecasts PV as the clear-sky shape times the recent yield', () => {
    const h = new SiteHistory();
    // 14 sunny days at 4 kW peak, then nothing else: tomorrow is forecast sunny.
    fill(h, 14, () => 0.5, (_d, s) => sun(s, 4));
    const sunny = h.forecast(T0 + 14 * DAY, 96);
    assert.ok(sunny);
    assert.ok(Math.abs((sunny.pvKw[48] as number) - 4) < 1e-9, `noon ${sunny.pvKw[48]}`);
    assert.equal(sunny.pvKw[0], 0);
    // A day at half the yield: recent (0.5) and two-week (13.5/14) yields blend half and half.
    const h2 = new SiteHistory();
    fill(h2, 14, () => 0.5, (d, s) => sun(s, d === 13 ? 2 : 4));
    const cloudy = h2.forecast(T0 + 14 * DAY, 96);
    const ratio = 0.5 * 0.5 + 0.5 * (13.5 / 14);
    assert.ok(Math.abs((cloudy?.pvKw[48] as number) - 4 * ratio) < 1e-9, `noon ${cloudy?.pvKw[48]} vs ${4 * ratio}`);
  });

  it('never uses a step at or after now, even when the history holds it', () => {
    const b = new SiteHistory();
    fill(b, 8, (d, s) => 1 + ((d * 7 + s) % 5), (_d, s) => sun(s, 3));
    // b also holds the future: 50 kW loads and 9 kW PV on days 8 and 9.
    for (let s = 8 * 96; s < 10 * 96; s++) b.add(T0 + s * SITE_STEP_MS, 50, 9);
    const now = T0 + 8 * DAY;
    const fresh = new SiteHistory();
    fill(fresh, 8, (d, s) => 1 + ((d * 7 + s) % 5), (_d, s) => sun(s, 3));
    // 144 steps: the plan's 36 hours, past a day ahead.
    assert.deepEqual(b.forecast(now, 144), fresh.forecast(now, 144));
  });

  it('averages readings into 15-minute steps as they arrive', () => {
    const h = new SiteHistory();
    for (let s = 0; s <= 96; s++) {
      h.observe(T0 + s * SITE_STEP_MS, 1, 0);
      h.observe(T0 + s * SITE_STEP_MS + 60_000, 3, 0);
    }
    const f = h.forecast(T0 + DAY + SITE_STEP_MS, 1);
    assert.ok(f);
    assert.ok(Math.abs((f.loadKw[0] as number) - 2) < 1e-9, `${f.loadKw[0]}`);
  });
});
