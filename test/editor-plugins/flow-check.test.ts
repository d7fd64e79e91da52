// The flow safety check in real Chromium against a real edge editor: a bypass marks the PCS write
// invalid and Node-RED's deploy dialog lists it; rewiring through the arbiter clears it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { packageRoot } from '../../io/package-root';
import { startEditor, stopEditor, type EditorProcess } from './editor-process';
import { launch, requireChromium } from '../e2e/browser';

const root = packageRoot;
const fixture = (name: string): unknown[] => JSON.parse(readFileSync(join(root, 'test', 'domain', 'flow-lint', 'fixtures', `${name}.json`), 'utf8')) as unknown[];

/** Opens the editor on an empty deployed flow and waits for the palette and the plugin. */
async function openEditor(page: Page, url: string, deployed: unknown[] = []): Promise<void> {
  const res = await fetch(`${url}/editor/flows`, { method: 'POST', headers: { 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full' }, body: JSON.stringify(deployed) });
  assert.ok(res.ok, `reset flows: ${res.status}`);
  await page.goto(`${url}/editor/`);
  await page.waitForFunction(() => {
    const w = window as unknown as { RED?: { nodes?: { getType(t: string): unknown; version(): string | null } }; lifo4FlowCheck?: unknown };
    // version() is set once the deployed flows are loaded: an import before that would be undone.
    return Boolean(w.RED?.nodes?.getType('pcs-setpoint') && w.RED.nodes.version() && w.lifo4FlowCheck && document.querySelector('#red-ui-header-button-deploy'));
  }, undefined, { timeout: 60_000 });
}

async function importFlow(page: Page, flow: unknown[]): Promise<void> {
  await page.evaluate((f) => {
    (window as unknown as { RED: { view: { importNodes(n: unknown, o: unknown): void } } }).RED.view.importNodes(f, { generateIds: false, addFlow: false, touchImport: true });
  }, flow);
}

/** Waits until the editor's validation of node `id` settles to valid / invalid; returns its errors. */
async function validity(page: Page, id: string, valid: boolean): Promise<string[]> {
  const handle = await page.waitForFunction(({ nodeId, want }) => {
    const n = (window as unknown as { RED: { nodes: { node(id: string): { valid?: boolean; validationErrors?: string[] } | null } } }).RED.nodes.node(nodeId);
    return n && n.valid === want ? (n.validationErrors ?? []) : false;
  }, { nodeId: id, want: valid }, { timeout: 10_000 });
  return (await handle.jsonValue()) as string[];
}

async function rewire(page: Page, from: string, oldTarget: string, newTarget: string): Promise<void> {
  await page.evaluate(({ s, o, t }) => {
    type N = { id: string };
    const RED = (window as unknown as { RED: { nodes: {
      node(id: string): N; filterLinks(f: unknown): { source: N; target: N; sourcePort: number }[];
      removeLink(l: unknown): void; addLink(l: unknown): void; dirty(d: boolean): void; }; view: { redraw(b: boolean): void } } }).RED;
    for (const l of RED.nodes.filterLinks({ source: RED.nodes.node(s), target: RED.nodes.node(o) })) RED.nodes.removeLink(l);
    RED.nodes.addLink({ source: RED.nodes.node(s), sourcePort: 0, target: RED.nodes.node(t) });
    RED.nodes.dirty(true);
    RED.view.redraw(true);
  }, { s: from, o: oldTarget, t: newTarget });
}

describe('flow safety check in the editor (Chromium)', function () {
  this.timeout(180_000);
  let editor: EditorProcess;
  let browser: Browser;
  let page: Page;

  before(async function () {
    requireChromium(this);
    // As the edge runtime sets them (runtime/app/flow-files.ts): the address the default tab polls.
    editor = await startEditor({ env: { EMS_MODBUS_HOST: '127.0.0.1', EMS_MODBUS_PORT: '5020' } });
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    if (editor) await stopEditor(editor);
  });
  beforeEach(async function () {
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    // The default tab is deployed before the editor opens, as on an edge.
    await openEditor(page, editor.url, this.currentTest?.title.includes('second PCS writer') ? fixture('guarded') : []);
  });
  afterEach(async () => { await page?.close(); });

  it('marks a PCS write fed by an inject invalid, lists it in the deploy dialog, and clears once rewired through the arbiter', async () => {
    await importFlow(page, fixture('direct-inject'));
    const errors = await validity(page, 'pcs', false);
    assert.match(errors.join('\n'), /Flow safety check: "manual" \(inject\) reaches PCS write "pcs"/);

    await page.click('#red-ui-header-button-deploy:not(.disabled)');
    const list = page.locator('.lifo4-flow-check-list');
    await list.waitFor({ timeout: 10_000 }).catch(async (err: unknown) => {
      await page.screenshot({ path: join(tmpdir(), 'lifo4-flow-check-deploy.png') });
      throw err;
    });
    assert.match(await list.innerText(), /"manual" \(inject\) reaches PCS write "pcs"/);
    await page.locator('#lifo4-flow-check-cancel').click();
    await list.waitFor({ state: 'detached', timeout: 10_000 });

    await rewire(page, 'manual', 'pcs', 'arbiter');
    assert.deepEqual(await validity(page, 'pcs', true), []);
    const deployed = page.waitForResponse((r) => r.url().endsWith('/editor/flows') && r.request().method() === 'POST', { timeout: 20_000 });
    await page.click('#red-ui-header-button-deploy');
    // The fixture's other nodes keep their defaults (e.g. an unconfigured strategy), so a
    // confirmation may still come: it must no longer name the PCS write.
    const confirm = page.locator('.red-ui-deploy-dialog-confirm-list');
    if (await confirm.waitFor({ timeout: 3_000 }).then(() => true, () => false)) {
      assert.doesNotMatch(await confirm.innerText(), /pcs \(pcs-setpoint\)/);
      await page.locator('.red-ui-notification button', { hasText: 'Confirm deploy' }).click();
    }
    assert.equal((await deployed).status(), 200);
    const flows = (await (await fetch(`${editor.url}/editor/flows`)).json()) as { id: string; wires?: string[][] }[];
    assert.deepEqual(flows.find((n) => n.id === 'manual')?.wires, [['arbiter']]);
  });

  for (const [name, how] of [['link-out-in', 'a link out on another tab'], ['link-call', 'a link call and its return'], ['junction', 'junctions'], ['subflow', 'a subflow']] as const) {
    it(`catches a strategy that reaches the PCS write through ${how}`, async () => {
      await importFlow(page, fixture(name));
      const errors = await validity(page, 'pcs', false);
      assert.match(errors.join('\n'), /"rogue" \(peak-shaving\) reaches PCS write "pcs"/);
    });
  }

  it('stops a second PCS writer on another tab at its own dialog: labels, Cancel by default, and a forced deploy that says it refuses', async () => {
    await importFlow(page, fixture('second-writer'));
    const errors = await validity(page, 'pcs2', false);
    assert.match(errors.join('\n'), /"pcs 2" \(pcs-setpoint\) on tab "imported example" writes unit 2 at 127\.0\.0\.1:5020, as does "pcs" \(pcs-setpoint\) on tab "t1"/);

    const flowsNow = async () => ((await (await fetch(`${editor.url}/editor/flows`)).json()) as { id: string }[]).map((n) => n.id);
    await page.click('#red-ui-header-button-deploy:not(.disabled)');
    const dialog = page.locator('.lifo4-flow-check-dialog');
    await dialog.waitFor({ timeout: 10_000 });
    const text = await dialog.innerText();
    assert.match(text, /Flow safety check: not deployed/);
    assert.doesNotMatch(text, /not properly configured|pcs-setpoint [0-9a-f]{6}/);
    // Nothing is clipped: the dialog fits the window, and Cancel is where Enter goes.
    const box = await dialog.boundingBox();
    assert.ok(box && box.x >= 0 && box.x + box.width <= 1280 && box.y + box.height <= 800, JSON.stringify(box));
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'lifo4-flow-check-cancel');
    await page.keyboard.press('Enter');
    await dialog.waitFor({ state: 'detached', timeout: 10_000 });
    assert.ok(!(await flowsNow()).includes('pcs2'), 'Cancel deployed the flow');

    await page.click('#red-ui-header-button-deploy:not(.disabled)');
    await page.locator('#lifo4-flow-check-force').click();
    const outcome = page.locator('.red-ui-notification', { hasText: 'Deployed with flow safety errors' });
    await outcome.waitFor({ timeout: 20_000 });
    assert.match(await outcome.innerText(), /"pcs 2" \(pcs-setpoint\).*refuse every write/s);
    assert.equal(await page.locator('.red-ui-notification', { hasText: 'Successfully deployed' }).count(), 0);
    assert.ok((await flowsNow()).includes('pcs2'));
  });

  it('finds nothing to complain about in a guarded flow; the site and profiles tabs are in reach at 1280 px', async () => {
    await importFlow(page, fixture('guarded'));
    assert.deepEqual(await validity(page, 'pcs', true), []);
    for (const tab of ['lifo4-site', 'lifo4-profiles']) assert.ok(await page.locator(`#red-ui-tab-${tab}-link-button`).isVisible(), `${tab} is in the overflow menu`);
  });
});
