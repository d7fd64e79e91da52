// The README's editor screenshots (docs/images/*.png), taken by hand after a build:
//   npx tsc -p . && node scripts/copy-assets.mjs && node scripts/readme-screenshots.mjs
// Starts the simulator (`lifo4 sim` on free ports) and the edge editor the Chromium tests use
// (dist/test/editor-plugins/editor-process.js, telemetry and tours off), deploys examples/site-status-sidebar.json
// against the simulator, and walks the README's steps in /usr/bin/chromium (CHROMIUM_PATH) at 1280x800.
/* global window, document, fetch -- window and document inside page.evaluate (the browser), fetch of Node 20 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { startEditor, stopEditor, deploy, openEditor } = require(join(root, 'dist/test/editor-plugins/editor-process.js'));
const { launch } = require(join(root, 'dist/test/e2e/browser.js'));
const CLI = join(root, 'dist', 'runtime', 'cli', 'main.js');

/** `lifo4 sim` on free ports, as a user starts it; resolves once it is ready, with its Modbus port. */
function startSim() {
  const dataDir = mkdtempSync(join(tmpdir(), 'lifo4-readme-sim-'));
  const child = spawn(process.execPath, [CLI, 'sim', '--modbus-port', '0', '--control-port', '0', '--seed', '1', '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const close = () => new Promise((resolve) => {
    child.once('exit', () => { rmSync(dataDir, { recursive: true, force: true }); resolve(); });
    child.kill('SIGTERM');
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (b) => {
      out += b.toString();
      const m = /sim ready: Modbus TCP \S+:(\d+)/.exec(out);
      if (m) resolve({ modbusPort: Number(m[1]), close });
    });
    child.once('exit', (code) => reject(new Error(`lifo4 sim exited with ${code}: ${out}`)));
  });
}

const outDir = join(root, 'docs', 'images');
mkdirSync(outDir, { recursive: true });

/** The bypass an integrator might draw: a manual setpoint wired straight into the PCS write. */
const BYPASS = {
  id: 'readme-manual', type: 'inject', z: 'ss-tab', name: 'manual 3 kW', props: [{ p: 'payload' }], repeat: '', crontab: '', once: false, onceDelay: 0.1,
  topic: '', payload: '{"type": "setpoint", "powerW": 3000, "durationS": 900, "by": "editor"}', payloadType: 'json', x: 640, y: 300, wires: [[]],
};

/** Moves the wire of node `from` onto node `to` (import keeps only wires inside what it imports). */
async function wire(page, from, oldTarget, to) {
  await page.evaluate(({ s, o, t }) => {
    const { RED } = window;
    if (o) for (const l of RED.nodes.filterLinks({ source: RED.nodes.node(s), target: RED.nodes.node(o) })) RED.nodes.removeLink(l);
    RED.nodes.addLink({ source: RED.nodes.node(s), sourcePort: 0, target: RED.nodes.node(t) });
    RED.nodes.dirty(true);
    RED.view.redraw(true);
  }, { s: from, o: oldTarget, t: to });
}

async function shot(page, name) {
  const path = join(outDir, name);
  await page.screenshot({ path });
  console.log(`${path}: ${Math.round(statSync(path).size / 1024)} kB`);
}

async function showSidebar(page, id, selector) {
  // The editor picks its own default tab while it starts: ask until ours is the one shown.
  await page.waitForFunction(({ tab, sel }) => {
    const el = document.querySelector(sel);
    if (el && el.offsetParent !== null) return true;
    if (el) window.RED.sidebar.show(tab);
    return false;
  }, { tab: id, sel: selector }, { timeout: 30_000, polling: 250 });
}

async function validity(page, id, valid) {
  await page.waitForFunction(({ nodeId, want }) => window.RED.nodes.node(nodeId)?.valid === want, { nodeId: id, want: valid }, { timeout: 10_000 });
}

async function main() {
  const sim = await startSim();
  const editor = await startEditor();
  const browser = await launch();
  try {
    const flow = JSON.parse(readFileSync(join(root, 'examples', 'site-status-sidebar.json'), 'utf8'))
      .map((n) => (n.type === 'modbus-connection' ? { ...n, port: sim.modbusPort } : n));
    await deploy(editor.url, flow);
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await openEditor(page, editor.url);

    // 1. The live site sidebar, with an operator setpoint running through the arbiter.
    await fetch(`${editor.url}/editor/inject/ss-inject-dis`, { method: 'POST' });
    await showSidebar(page, 'lifo4-site', '.lifo4-site');
    await page.locator('.lifo4-site .lifo4-site-decisions tr').first().waitFor({ timeout: 30_000 });
    await page.waitForTimeout(3000);
    await shot(page, 'editor-site-sidebar.png');
    // From here on without the palette, so that the whole flow fits next to the sidebar.
    await page.evaluate(() => window.RED.menu.setSelected('menu-item-palette', false));

    // 2. A bypass: the PCS write turns invalid and the Info panel says why.
    await page.evaluate((n) => window.RED.view.importNodes([n], { generateIds: false, addFlow: false, touchImport: true }), BYPASS);
    await wire(page, 'readme-manual', undefined, 'ss-set');
    await validity(page, 'ss-set', false);
    await page.evaluate(() => {
      window.RED.view.select({ nodes: [window.RED.nodes.node('ss-set')] });
      window.RED.sidebar.show('info');
    });
    await page.locator('.red-ui-notification').first().waitFor({ state: 'detached', timeout: 15_000 }).catch(() => undefined);
    await page.locator('.red-ui-info-table a', { hasText: 'show more' }).first().click().catch(() => undefined);
    // Node-RED's tooltip on the node's red triangle lists its validation errors.
    await page.locator('#ss-set .red-ui-flow-node-error').hover();
    await page.waitForTimeout(1500);
    await shot(page, 'flow-check-bypass.png');

    // 3. Deploy anyway: Node-RED's confirmation lists the PCS write.
    await page.click('#red-ui-header-button-deploy');
    await page.locator('.red-ui-deploy-dialog-confirm-list').waitFor({ timeout: 10_000 });
    await page.waitForTimeout(500);
    await shot(page, 'flow-check-deploy-dialog.png');
    await page.locator('.red-ui-notification button', { hasText: 'Cancel' }).click();
    await page.locator('.red-ui-deploy-dialog-confirm-list').waitFor({ state: 'detached', timeout: 10_000 });

    // 4. Rewire the manual setpoint through the operator command (-> arbiter -> safety envelope) and deploy.
    await wire(page, 'readme-manual', 'ss-set', 'ss-operator');
    await validity(page, 'ss-set', true);
    const deployed = page.waitForResponse((r) => r.url().endsWith('/editor/flows') && r.request().method() === 'POST', { timeout: 20_000 });
    await page.click('#red-ui-header-button-deploy');
    const confirm = page.locator('.red-ui-deploy-dialog-confirm-list');
    if (await confirm.waitFor({ timeout: 3000 }).then(() => true, () => false)) {
      await page.locator('.red-ui-notification button', { hasText: 'Confirm deploy' }).click();
    }
    if ((await deployed).status() !== 200) throw new Error('deploy failed');
    await page.evaluate(() => window.RED.view.select({ nodes: [window.RED.nodes.node('ss-set')] }));
    await page.waitForTimeout(1500);
    await shot(page, 'flow-check-rewired.png');

    // 5. The device profile editor: the simulator battery's SunSpec models, ready to map.
    await page.evaluate(() => window.RED.view.select({ nodes: [] }));
    await page.evaluate(() => window.RED.menu.setSelected('menu-item-palette', false));
    await showSidebar(page, 'lifo4-profiles', '.lifo4-pe-list');
    await page.locator('.lifo4-pe-open').click();
    await page.locator('.red-ui-tray .lifo4-pe').waitFor({ timeout: 20_000 });
    const name = page.locator('.lifo4-pe-name');
    await name.fill('Generic LFP BMS');
    await name.dispatchEvent('change');
    await page.locator('.lifo4-pe-model-points tr[data-point="SoC"]').waitFor({ timeout: 20_000 });
    await page.locator('.lifo4-pe-model-points tr[data-point="SoC"] .lifo4-pe-add-point').click();
    await page.evaluate(() => { for (const el of document.querySelectorAll('.red-ui-tray *')) el.scrollLeft = 0; });
    await page.waitForTimeout(1000);
    await shot(page, 'profile-editor.png');
    await page.close();
  } finally {
    await browser.close();
    await stopEditor(editor);
    await sim.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
