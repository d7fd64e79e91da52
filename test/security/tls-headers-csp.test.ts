// Node-RED's editor under the Content-Security-Policy the runtimes send for /editor
// (runtime/app/http-security.ts), in Debian's Chromium: the editor loads with this package's nodes
// and plugins, a function node's code editor (Monaco, with its blob: workers) opens, and the page
// reports no CSP violation, neither as a console line ('Refused to ...') nor as a
// securitypolicyviolation event. The dashboard's CSP is checked the same way by test/e2e/dashboard.test.ts,
// which fails on any console error.
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { launch, requireChromium } from '../e2e/browser';
import { login, openEditor, startEditor, stopEditor, type EditorProcess } from '../editor-plugins/editor-process';

describe('the editor under its Content-Security-Policy (Chromium)', function () {
  this.timeout(180_000);
  let editor: EditorProcess;
  let browser: Browser;
  let page: Page;
  const violations: string[] = [];

  before(async function () {
    requireChromium(this);
    editor = await startEditor({ auth: true });
    browser = await launch();
    page = await browser.newPage();
    page.on('console', (m) => {
      if (/Refused to|Content Security Policy/i.test(m.text())) violations.push(`console: ${m.text()}`);
    });
    await page.exposeFunction('reportCspViolation', (v: string) => violations.push(`event: ${v}`));
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        void (window as unknown as { reportCspViolation(v: string): Promise<void> }).reportCspViolation(`${e.violatedDirective} ${e.blockedURI}`);
      });
    });
  });
  after(async () => {
    await browser?.close();
    if (editor) await stopEditor(editor);
  });

  it('is served with the editor CSP, which still forbids framing', async () => {
    const res = await fetch(`${editor.url}/editor/`);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(csp, /script-src 'self' 'unsafe-inline'(;|$)/);
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
  });

  it('loads the editor with the package nodes, opens a function node in Monaco, and violates nothing', async () => {
    await openEditor(page, editor.url, await login(editor.url, 'admin'));
    await page.evaluate(() => {
      const RED = (window as unknown as { RED: { view: { importNodes(n: unknown[]): void }; workspaces: { active(): string }; nodes: { node(id: string): unknown }; editor: { edit(n: unknown): void } } }).RED;
      RED.view.importNodes([{ id: 'csp-fn', type: 'function', name: 'csp', func: 'return msg;', outputs: 1, x: 200, y: 100, z: RED.workspaces.active(), wires: [[]] }]);
      RED.editor.edit(RED.nodes.node('csp-fn'));
    });
    await page.locator('.red-ui-tray .monaco-editor >> visible=true').first().waitFor({ timeout: 30_000 });
    // Monaco starts its workers and styles after it shows: give them a moment to be refused, if they are.
    await page.waitForTimeout(2000);
    assert.deepEqual(violations, []);
  });
});
