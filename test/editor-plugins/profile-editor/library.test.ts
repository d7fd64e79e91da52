// The profile library in the editor, on a real edge editor (adminAuth) in real Chromium: the admin
// API lists the shipped profiles with their sources, the "profiles" sidebar lists them, and choosing
// one in a device node's dialog fills that node's profile and unit id.
import assert from 'node:assert/strict';
import { type Browser } from 'playwright-core';
import { authHeaders, deploy, login, openEditor, startEditor, stopEditor, type EditorProcess } from '../editor-process';
import { launch, requireChromium } from '../../e2e/browser';
import { profileLibrary } from '../../../io/profile-library';

interface Listed { id: string; name: string; kind: string; family: string | null; unitId: number | null; controls: boolean; source: { document: string }[] }

describe('profile library in the editor', function () {
  this.timeout(180_000);
  let editor: EditorProcess;
  let admin: string;
  let viewer: string;
  let browser: Browser | undefined;

  before(async () => {
    editor = await startEditor({ auth: true });
    admin = await login(editor.url, 'admin');
    viewer = await login(editor.url, 'viewer');
    await deploy(editor.url, [
      { id: 't1', type: 'tab', label: 'site' },
      { id: 'conn', type: 'modbus-connection', name: 'inverter', host: '127.0.0.1', port: 502, timeout: 1000, queueLimit: 100 },
      { id: 'dev', type: 'profile-device', z: 't1', x: 200, y: 100, name: '', connection: 'conn', unitId: 7, siteId: 'site-1', deviceId: 'pcs-1', interval: 1000, profile: '{"name":"placeholder","kind":"pcs","blocks":[{"model":701,"address":0,"points":[{"name":"W","type":"s16","size":1}]}]}', wires: [[]] },
    ], admin);
  });
  after(async () => {
    await browser?.close();
    if (editor) await stopEditor(editor);
  });

  it('lists every shipped profile to a reader, with its source, and serves one by id', async () => {
    const res = await fetch(`${editor.url}/editor/lifo4/profile-library`, { headers: authHeaders(viewer) });
    assert.equal(res.status, 200);
    const { profiles } = (await res.json()) as { profiles: Listed[] };
    assert.deepEqual(profiles.map((p) => p.id), profileLibrary().map((p) => p.id));
    const victron = profiles.find((p) => p.id === 'victron-gx-pcs');
    assert.equal(victron?.controls, true);
    assert.equal(victron?.unitId, 227);
    assert.match(victron?.source[0]?.document ?? '', /attributes\.csv/);
    const one = await fetch(`${editor.url}/editor/lifo4/profile-library/huawei-luna2000-pcs`, { headers: authHeaders(viewer) });
    assert.equal(((await one.json()) as { profile: { name: string } }).profile.name, 'Huawei SUN2000 with LUNA2000: forcible charge/discharge');
    assert.equal((await fetch(`${editor.url}/editor/lifo4/profile-library/nope`, { headers: authHeaders(viewer) })).status, 404);
    assert.equal((await fetch(`${editor.url}/editor/lifo4/profile-library`)).status, 401);
  });

  it('Chromium: the sidebar lists the library, and choosing one in a device node fills its profile and unit id', async function () {
    requireChromium(this);
    browser = await launch();
    const page = await browser.newPage();
    await openEditor(page, editor.url, admin);
    await page.waitForFunction(() => {
      const el = document.querySelector<HTMLElement>('.lifo4-pe-library');
      if (el && el.offsetParent !== null) return true;
      if (el) (window as unknown as { RED: { sidebar: { show(id: string): void } } }).RED.sidebar.show('lifo4-profiles');
      return false;
    }, undefined, { timeout: 30_000, polling: 250 });
    await page.locator('.lifo4-pe-library li[data-library="victron-gx-pcs"]').waitFor({ timeout: 20_000 });

    await page.evaluate(() => {
      const RED = (window as unknown as { RED: { editor: { edit(n: unknown): void }; nodes: { node(id: string): unknown } } }).RED;
      RED.editor.edit(RED.nodes.node('dev'));
    });
    await page.waitForFunction(() => document.querySelectorAll('#node-input-profile-library option').length > 5, undefined, { timeout: 20_000 });
    await page.locator('#node-input-profile-library').selectOption('huawei-luna2000-pcs');
    await page.waitForFunction(() => (document.querySelector<HTMLInputElement>('#node-input-unitId')?.value ?? '') === '1' && (window as unknown as { ace?: unknown }).ace !== undefined, undefined, { timeout: 10_000 });
    await page.locator('#node-dialog-ok').click();
    const node = await page.evaluate(() => {
      const n = (window as unknown as { RED: { nodes: { node(id: string): { profile: string; unitId: string | number } } } }).RED.nodes.node('dev');
      return { profile: n.profile, unitId: n.unitId };
    });
    assert.equal(JSON.parse(node.profile).name, 'Huawei SUN2000 with LUNA2000: forcible charge/discharge');
    assert.equal(Number(node.unitId), 1);
    await page.close();
  });
});
