// Every node of the package in real Chromium: its help opens in the editor with Inputs, Outputs
// and Details, and no raw message-catalog key shows anywhere the editor renders the node (palette
// label, port labels, help, and the edit forms of the nodes with localised forms); the German
// catalog renders for a German browser.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { openEditor, startEditor, stopEditor, type EditorProcess } from '../editor-plugins/editor-process';
import { launch, requireChromium } from '../e2e/browser';

const root = join(__dirname, '..', '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { 'node-red': { nodes: Record<string, string> } };
const TYPES = [...new Set([...Object.keys(pkg['node-red'].nodes), 'site-status'])];
/** Nodes whose whole edit form goes through the message catalog. */
const LOCALISED_FORMS = ['sunspec-device', 'safety-limits', 'arbiter', 'pcs-setpoint', 'operator-command', 'arbitrage', 'peak-shaving', 'site-status'];

interface Rendered { palette: string; ports: string[]; help: string; headings: string[] }
interface Form { text: string; placeholders: string[]; emptyLabels: string[] }

/** A raw key of Node-RED's catalog or of this node's own catalog, as i18next shows a missing one. */
const rawKey = (type: string): RegExp => new RegExp(`node-red:|${type.replace(/-/g, '\\-')}\\.(paletteLabel|label|placeholder|option|unit|inputLabels|outputLabels|status)\\b`);

async function rendered(page: Page, type: string): Promise<Rendered> {
  return page.evaluate(async (t) => {
    type Def = { outputs?: number; inputs?: number; outputLabels?: unknown; inputLabels?: unknown; paletteLabel?: unknown };
    const RED = (window as unknown as { RED: {
      nodes: { getType(t: string): Def }; sidebar: { help: { show(t: string): void } };
    } }).RED;
    const def = RED.nodes.getType(t);
    const label = (l: unknown, i: number): string => (typeof l === 'function' ? String((l as (this: Def, i: number) => unknown).call(def, i)) : Array.isArray(l) ? String(l[i] ?? '') : String(l ?? ''));
    const ports: string[] = [];
    for (let i = 0; i < (def.outputs ?? 0); i++) if (def.outputLabels) ports.push(label(def.outputLabels, i));
    if (def.inputs && def.inputLabels) ports.push(label(def.inputLabels, 0));
    const paletteEl = document.querySelector(`.red-ui-palette-node[data-palette-type="${t}"] .red-ui-palette-label`);
    RED.sidebar.help.show(t);
    // The help tab fills at once but may take a moment to be shown the first time.
    const visibleHelp = (): HTMLElement | undefined => Array.from(document.querySelectorAll<HTMLElement>('.red-ui-help')).find((e) => e.offsetParent !== null && e.querySelector('h3'));
    for (let i = 0; i < 100 && !visibleHelp(); i++) await new Promise((r) => setTimeout(r, 50));
    const help = visibleHelp();
    return {
      palette: (paletteEl ? paletteEl.textContent ?? '' : label(def.paletteLabel, 0)).replace(/\s+/g, ' ').trim(),
      ports,
      help: help?.innerText ?? '',
      headings: help ? Array.from(help.querySelectorAll('h3')).map((h) => (h as HTMLElement).innerText.trim()) : [],
    };
  }, type);
}

async function editForm(page: Page, type: string): Promise<Form> {
  await page.evaluate((t) => {
    const RED = (window as unknown as { RED: { view: { importNodes(n: unknown, o: unknown): void }; nodes: { node(id: string): unknown }; editor: { edit(n: unknown): void } } }).RED;
    RED.view.importNodes([{ id: `form-${t}`, type: t, x: 200, y: 200, z: (window as unknown as { RED: { workspaces: { active(): string } } }).RED.workspaces.active(), wires: [] }], { generateIds: false, addFlow: false });
    RED.editor.edit(RED.nodes.node(`form-${t}`));
  }, type);
  const form = page.locator('#dialog-form');
  await form.locator('label').first().waitFor({ timeout: 20_000 });
  const result = await form.evaluate((el) => ({
    text: (el as HTMLElement).innerText,
    placeholders: Array.from(el.querySelectorAll('input')).map((i) => i.placeholder).filter(Boolean),
    emptyLabels: Array.from(el.querySelectorAll('label[for^="node-input-"]')).filter((l) => !(l as HTMLElement).innerText.trim()).map((l) => l.getAttribute('for') ?? ''),
  }));
  await page.evaluate(() => { (window as unknown as { RED: { tray: { close(): void } } }).RED.tray.close(); });
  await form.waitFor({ state: 'detached', timeout: 20_000 });
  return result;
}

describe('node help and locales in the editor (Chromium)', function () {
  this.timeout(300_000);
  let editor: EditorProcess;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  before(async function () {
    requireChromium(this);
    editor = await startEditor();
    browser = await launch();
  });
  after(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    if (editor) await stopEditor(editor);
  });

  async function pageIn(locale: string): Promise<Page> {
    const context = await browser.newContext({ locale });
    contexts.push(context);
    const page = await context.newPage();
    await openEditor(page, editor.url);
    return page;
  }

  it('renders help with Inputs, Outputs and Details and no raw key for every node type (English)', async () => {
    const page = await pageIn('en-US');
    for (const type of TYPES) {
      const r = await rendered(page, type);
      assert.ok(r.palette.trim(), `${type}: a palette label`);
      for (const h of ['Inputs', 'Outputs', 'Details']) assert.ok(r.headings.includes(h), `${type}: help has ${h} (has ${r.headings.join(', ')})`);
      for (const text of [r.palette, ...r.ports, r.help]) assert.doesNotMatch(text, rawKey(type), `${type}: raw key in "${text.slice(0, 200)}"`);
    }
    for (const type of LOCALISED_FORMS) {
      const f = await editForm(page, type);
      assert.deepEqual(f.emptyLabels, [], `${type}: every field has a label`);
      for (const text of [f.text, ...f.placeholders]) assert.doesNotMatch(text, rawKey(type), `${type}: raw key in its form: ${text.slice(0, 200)}`);
    }
    const safety = await rendered(page, 'safety-limits');
    assert.equal(safety.palette, 'safety limits');
    assert.deepEqual(safety.ports, ['envelope']);
  });

  it('renders the German catalog for a German browser', async () => {
    const page = await pageIn('de-DE');
    const safety = await rendered(page, 'safety-limits');
    assert.equal(safety.palette, 'Sicherheitsgrenzen');
    assert.deepEqual(safety.ports, ['Sicherheitsgrenzen']);
    const form = await editForm(page, 'safety-limits');
    assert.match(form.text, /Anlagen-ID/);
    assert.match(form.text, /Zyklen/);
    assert.doesNotMatch(form.text, rawKey('safety-limits'));
    for (const type of TYPES) assert.doesNotMatch((await rendered(page, type)).palette, rawKey(type));
  });
});
