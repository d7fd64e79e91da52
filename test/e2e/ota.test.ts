// The newcomer's OTA path end to end, in Chromium against `lifo4 start`,
// whose edge runs under the OTA agent: export the flow from the edge editor, build a signed bundle
// with `lifo4 image build`, deploy it to the simulated site from the dashboard's OTA page as a
// SUPER_ADMIN, and watch it commit; then a broken flow (its broker address mistyped) is rolled
// back by the agent, and the site keeps running the release before it.
// Without Chromium the suite skips locally and fails under CI=true.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { generate } from 'otplib';
import type { Browser, Page } from 'playwright-core';
import { AgentStateSchema } from '../../runtime/ota/release-slots';
import { eventually } from '../integration/lifo4-process';
import { bearer, edgeEditorToken, edgeToken } from '../integration/edge-sign-in';
import { launch, requireChromium, openPage, screenshot, type WatchedPage } from './browser';
import { startTarget, type Target } from './target';

const run = promisify(execFile);
const CLI = resolve(__dirname, '../../runtime/cli/main.js');
const PASSWORD = 'e2e-password-0123';
const SUPER = 'super@e2e.example';
/** An edge account that reads the edge editor and /nodes (`lifo4 user add --edge`). */
const EDGE_TECH = 'technician@e2e.edge';
/** The all-in-one's health window for a new release, s: short, so the test waits seconds, not minutes. */
const HEALTH_S = 20;

interface FlowNode {
  id: string;
  type: string;
  [key: string]: unknown;
}

describe('OTA from the dashboard to the simulated site (e2e)', function () {
  this.timeout(300_000);
  let target: Target | null = null;
  let browser: Browser | null = null;
  let w: WatchedPage | null = null;
  let work = '';
  let edgeApiToken = '';

  before(async function () {
    requireChromium(this);
    if ((process.env.LIFO4_E2E_TARGET ?? 'runtime') !== 'runtime') {
      console.log('    (skipped: the OTA path needs `lifo4 start` run by the test)');
      this.skip();
    }
    target = await startTarget(['--ota-health-s', String(HEALTH_S)]);
    await target.addUser(SUPER, 'SUPER_ADMIN', PASSWORD);
    edgeApiToken = await edgeToken(target.edgeUrl!, target.dataDir!, 'TECHNICIAN', EDGE_TECH);
    browser = await launch();
    work = mkdtempSync(join(tmpdir(), 'lifo4-e2e-ota-'));
  });

  after(async () => {
    await w?.close();
    await browser?.close();
    await target?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  function agentState() {
    return AgentStateSchema.parse(JSON.parse(readFileSync(join((target as Target).dataDir!, 'edge-agent', 'state.json'), 'utf8')));
  }

  /** What the edge editor's Export gives: the deployed flows, without credentials. */
  async function exportEdgeFlows(): Promise<FlowNode[]> {
    // The edge may still be starting (or restarting into a new release): sign in to its editor on each try.
    return eventually(async () => {
      const edgeUrl = (target as Target).edgeUrl!;
      const r = await fetch(`${edgeUrl}/editor/flows`, { headers: { 'Node-RED-API-Version': 'v1', ...bearer(await edgeEditorToken(edgeUrl, EDGE_TECH)) } });
      return r.status === 200 ? ((await r.json()) as FlowNode[]) : undefined;
    }, 60_000, 'the edge editor');
  }

  async function buildBundle(name: string, flows: FlowNode[]): Promise<string> {
    const file = join(work, `${name}.json`);
    writeFileSync(file, JSON.stringify(flows, null, 2));
    const { stdout } = await run(process.execPath, [CLI, 'image', 'build', '--flows', file, '--data-dir', (target as Target).dataDir!]);
    const version = /^built (\S+) /m.exec(stdout)?.[1];
    assert.ok(version, stdout);
    return version;
  }

  async function deploy(p: Page, version: string): Promise<void> {
    await p.goto(`${(target as Target).url}/ota`);
    const form = p.locator('[data-test=ota-form]');
    await eventually(async () => ((await form.locator(`option[value="${version}"]`).count()) > 0 || undefined), 30_000, `bundle ${version} offered`);
    await form.locator('select').first().selectOption(version);
    await eventually(async () => ((await form.locator('select[multiple] option').count()) > 0 || undefined), 30_000, 'the site offered');
    await form.locator('select[multiple]').selectOption([(target as Target).siteId]);
    await form.getByLabel('Stages (cumulative %)').fill('100');
    await form.getByLabel('Hours per stage').fill('0');
    await form.locator('button[type=submit]').click();
    await p.getByRole('status').filter({ hasText: `Roll-out of ${version} started` }).waitFor();
  }

  async function siteOutcome(p: Page, phases: string[]): Promise<string> {
    const row = p.locator('[data-test=ota-targets] tbody tr', { hasText: (target as Target).siteId });
    // The page refreshes by itself; download, install, restart and the health window take seconds.
    return eventually(async () => {
      const text = (await row.innerText().catch(() => '')).trim();
      return phases.find((ph) => text.includes(ph)) ? text : undefined;
    }, 120_000, `the site's roll-out to end in ${phases.join(' or ')}`);
  }

  it('a SUPER_ADMIN deploys a bundle built from the exported edge flow, and the site commits it', async () => {
    const t = target as Target;
    w = await openPage(browser as Browser);
    const p = w.page;
    w.expectHttp('POST', '/api/v1/auth/login', 403);
    await p.goto(`${t.url}/sign-in`);
    await p.fill('[data-test=email]', SUPER);
    await p.fill('[data-test=password]', PASSWORD);
    await p.click('[data-test=signin-submit]');
    const secret = (await p.locator('[data-test=totp-secret]').innerText()).trim();
    await p.fill('[data-test=enrol-code]', await generate({ secret }));
    await p.click('form button[type=submit]');
    await p.click('[data-test=enrol-done]');
    await p.waitForURL(/\/fleet$/);

    const factory = agentState().committed;
    assert.ok(factory, 'the edge runs its factory release');
    const version = await buildBundle('exported', await exportEdgeFlows());
    await deploy(p, version);
    const row = await siteOutcome(p, ['committed', 'rolled-back', 'refused', 'failed']);
    assert.match(row, /committed/, row);
    await screenshot(p, 'ota');
    const state = agentState();
    assert.equal(state.committed?.version, version);
    assert.equal(state.previous?.version, factory.version);
    // The new release runs the control loop: the edge polls the simulator again.
    await eventually(async () => {
      const r = await fetch(`${t.edgeUrl!}/nodes/telemetry/latest`, { headers: bearer(edgeApiToken) });
      const body = (await r.json()) as { ts?: number };
      return (r.ok && typeof body.ts === 'number' && Date.now() - body.ts < 10_000) || undefined;
    }, 60_000, 'telemetry from the new release');
  });

  it('a broken flow (broker address mistyped) fails its health check and is rolled back', async () => {
    const before = agentState().committed;
    assert.ok(before);
    const flows = (await exportEdgeFlows()).map((n) => (n.type === 'mqtt-link' ? { ...n, url: 'mqtt://127.0.0.1:1' } : n));
    const version = await buildBundle('broken', flows);
    const p = (w as WatchedPage).page;
    await deploy(p, version);
    const row = await siteOutcome(p, ['committed', 'rolled-back', 'refused', 'failed']);
    assert.match(row, /rolled-back/, row);
    assert.match(row, /MQTT not connected/, row);
    await screenshot(p, 'ota-rolled-back');
    const state = agentState();
    assert.equal(state.committed?.version, before.version, 'the release before is still the committed one');
    assert.equal(state.outcomes[Object.keys(state.outcomes).find((id) => state.outcomes[id]!.version === version)!]?.phase, 'rolled-back');
    assert.deepEqual((w as WatchedPage).problems, [], 'the pages logged errors');
  });
});
