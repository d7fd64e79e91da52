// The device profile editor in real Chromium against a real edge editor (adminAuth) and the real
// site simulator: open the tray from the "profiles" sidebar, map the simulator battery's SoC and
// SoH (its SunSpec 802 registers, as a non-SunSpec device would expose them) from the SunSpec
// browser, test-read them live, save, reload the editor and find the profile listed and loadable.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { startSimulator, type RunningSimulator } from '../../../runtime/simulator/index';
import { battery802, type Battery802 } from './simulator-battery';
import { deploy, login, openEditor, startEditor, stopEditor, waitForEditor, type EditorProcess } from '../editor-process';
import { launch, requireChromium } from '../../e2e/browser';

async function showProfilesTab(page: Page): Promise<void> {
  // The editor picks its own default tab while it starts: ask until ours is the one shown.
  await page.waitForFunction(() => {
    const el = document.querySelector<HTMLElement>('.lifo4-pe-list');
    if (el && el.offsetParent !== null) return true;
    if (el) (window as unknown as { RED: { sidebar: { show(id: string): void } } }).RED.sidebar.show('lifo4-profiles');
    return false;
  }, undefined, { timeout: 30_000, polling: 250 });
}

/** Type into an input and let it fire 'change', as leaving the field does. */
async function set(page: Page, selector: string, value: string): Promise<void> {
  const el = page.locator(selector);
  await el.fill(value);
  await el.dispatchEvent('change');
}

describe('device profile editor (Chromium)', function () {
  this.timeout(180_000);
  let sim: RunningSimulator;
  let editor: EditorProcess;
  let browser: Browser;
  let admin: string;
  let battery: Battery802;

  before(async function () {
    requireChromium(this);
    sim = await startSimulator({ modbusPort: 0, controlPort: 0, seed: 5 });
    battery = await battery802(sim.modbusPort);
    editor = await startEditor({ auth: true });
    admin = await login(editor.url, 'admin');
    await deploy(editor.url, [{ id: 'sim-conn', type: 'modbus-connection', name: 'simulator', host: '127.0.0.1', port: sim.modbusPort, timeout: 1000, queueLimit: 100 }], admin);
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    if (editor) await stopEditor(editor);
    if (sim) await sim.close();
  });

  it('maps two simulator registers, test-reads plausible values, saves, and lists the profile after a reload; fits at 1280 px', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await openEditor(page, editor.url, admin);
    await showProfilesTab(page);
    await page.locator('.lifo4-pe-list .lifo4-pe-note').waitFor({ timeout: 20_000 }); // "no saved profiles yet"
    await page.locator('.lifo4-pe-open').click();
    const tray = page.locator('.red-ui-tray .lifo4-pe');
    await tray.waitFor({ timeout: 20_000 });
    // Read now before the profile has a name: a sentence, not a schema path.
    await page.locator('.lifo4-pe-test').click();
    assert.match(await page.locator('.lifo4-pe-error').innerText(), /^Give the profile a name first/);

    await set(page, '.lifo4-pe-name', 'Simulator battery (SoC, SoH)');
    assert.equal(await page.locator('.lifo4-pe-file').inputValue(), 'Simulator-battery-SoC-SoH', 'file name derived from the device name');
    await set(page, '.lifo4-pe-file', 'sim-battery');
    // The browser shows model 802 with SoC at its SunSpec offset; + maps it into a new 802 block.
    const socRow = page.locator('.lifo4-pe-model-points tr[data-point="SoC"]');
    await socRow.waitFor({ timeout: 20_000 });
    assert.equal((await socRow.locator('td.lifo4-pe-num').first().innerText()).trim(), String(battery.socAddress - battery.modelAddress));
    await socRow.locator('.lifo4-pe-add-point').click();
    await page.locator('.lifo4-pe-block .lifo4-pe-add-pad').click(); // DoD lies between SoC and SoH
    await page.locator('.lifo4-pe-model-points tr[data-point="SoH"] .lifo4-pe-add-point').click();
    await set(page, '.lifo4-pe-block .lifo4-pe-block-address', String(battery.socAddress));
    // A device without SunSpec has fixed scale factors: SoC and SoH in 0.1 %.
    await set(page, '.lifo4-pe-points tr[data-point="SoC"] .lifo4-pe-psf', '-1');
    await set(page, '.lifo4-pe-points tr[data-point="SoH"] .lifo4-pe-psf', '-1');
    assert.equal((await page.locator('.lifo4-pe-points tr[data-point="SoH"] .lifo4-pe-point-address').innerText()).trim(), String(battery.sohAddress));
    // Everything to press or fill is inside the window, not cut off at its right edge.
    for (const selector of ['.lifo4-pe-model-points tr[data-point="SoC"] .lifo4-pe-add-point', '.lifo4-pe-points tr[data-point="SoH"] .lifo4-pe-punits', '.lifo4-pe-points tr[data-point="SoH"] button']) {
      const shown = await page.locator(selector).first().evaluate((el) => {
        const r = el.getBoundingClientRect();
        const hit = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
        return r.x >= 0 && r.right <= window.innerWidth && hit !== null && (el === hit || el.contains(hit));
      });
      assert.ok(shown, `${selector} is off-screen or clipped`);
    }

    assert.equal(await page.locator('.lifo4-pe-connection option:checked').innerText(), 'simulator');
    await page.locator('.lifo4-pe-test').click();
    const socValue = page.locator('.lifo4-pe-reading tr[data-point="SoC"] .lifo4-pe-value');
    await socValue.waitFor({ timeout: 30_000 });
    const soc = Number(await socValue.innerText());
    const soh = Number(await page.locator('.lifo4-pe-reading tr[data-point="SoH"] .lifo4-pe-value').innerText());
    assert.ok(soc > 0 && soc <= 100 && Math.abs(soc - battery.soc) < 2, `SoC ${soc} (SunSpec decode: ${battery.soc})`);
    assert.ok(Math.abs(soh - battery.soh) < 1, `SoH ${soh} (SunSpec decode: ${battery.soh})`);
    assert.equal(await page.locator('.lifo4-pe-error').innerText(), '');
    // Every text in the tray is translated: no raw message keys.
    assert.doesNotMatch(await tray.innerText(), /profileEditor\./);

    await page.locator('.lifo4-pe-save').click();
    const file = join(editor.dir, 'edge', 'profiles', 'sim-battery.json');
    await page.waitForFunction(() => document.querySelector('.lifo4-pe-saved option[value="sim-battery"]') !== null, undefined, { timeout: 20_000 });
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { name: string; blocks: { address: number; points: { name: string; sf?: number }[] }[] };
    assert.equal(saved.name, 'Simulator battery (SoC, SoH)');
    assert.equal(saved.blocks[0]!.address, battery.socAddress);
    assert.deepEqual(saved.blocks[0]!.points.map((p) => [p.name, p.sf]), [['SoC', -1], ['gap1', undefined], ['SoH', -1]]);

    await page.reload();
    await waitForEditor(page);
    await showProfilesTab(page);
    const listed = page.locator('.lifo4-pe-list li[data-file="sim-battery"]');
    await listed.waitFor({ timeout: 20_000 });
    assert.match(await listed.innerText(), /Simulator battery \(SoC, SoH\)/);
    // Opening it from the list loads it into the tray as saved.
    await listed.click();
    await page.waitForFunction((addr) => (document.querySelector<HTMLInputElement>('.red-ui-tray .lifo4-pe-block-address')?.value ?? '') === String(addr), battery.socAddress, { timeout: 20_000 });
    assert.equal(await page.locator('.red-ui-tray .lifo4-pe-file').inputValue(), 'sim-battery');
    await page.close();
  });
});
