// Crash consistency: the agent is killed with SIGKILL at every step of an update (and of a
// rollback) and started again. At every instant `current` is a complete, verified release, and
// after the restart the agent converges: the update commits (or the rollback completes), no
// half-extracted release is left, and the runtime of the right release runs.
import { strict as assert } from 'node:assert';
import { cpSync, existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { AGENT_STEPS } from '../../../runtime/ota/edge-agent';
import { startAedes, type RunningAedes } from '../../services/aedes';
import { eventually, type Lifo4Process } from '../../integration/lifo4-process';
import { CloudSide, startAgentProcess, stopAgentProcess } from './agent-harness';
import { BundleServer, buildTestBundle, currentRelease, ed25519, readState, ReleaseSource, removeDir, tempDir } from './ota-fixtures';
import type { Manifest } from '../../../runtime/ota/manifest';

describe('OTA edge agent: SIGKILL at every step of an update', function () {
  this.timeout(180_000);
  const fleet = ed25519();
  let root: string;
  let template: string;
  let broker: RunningAedes;
  let server: BundleServer;
  let cloud: CloudSide;
  let v2: Manifest;
  let broken: Manifest;
  let running: { agent: Lifo4Process | null; dir: string } | null = null;

  before(async () => {
    root = tempDir('crash');
    const source = new ReleaseSource(root);
    const v1 = (await buildTestBundle({ root, source, key: fleet.privateKey, version: '1.0.0', sequence: 1 })).manifest;
    v2 = (await buildTestBundle({ root, source, key: fleet.privateKey, version: '2.0.0', sequence: 2 })).manifest;
    broken = (await buildTestBundle({ root, source, key: fleet.privateKey, version: '3.0.0-crash', sequence: 3, behaviour: 'crash' })).manifest;
    broker = await startAedes();
    server = new BundleServer(root);
    await server.start();
    cloud = await CloudSide.connect(broker.url);
    // A device with 1.0.0 committed, copied for every case.
    template = join(root, 'template');
    const since = Date.now();
    const agent = startAgentProcess({ dir: template, siteId: 'ota-template', fleetPem: fleet.publicPem, mqttUrl: broker.url });
    await cloud.connected('ota-template', since);
    await cloud.notify(server.notice('ota-template', 'install-1', v1));
    assert.equal((await cloud.outcome('install-1')).phase, 'committed');
    await stopAgentProcess(agent, template);
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && running?.agent) console.log(`agent output (tail):\n${running.agent.output.slice(-3000)}`);
    if (running) await stopAgentProcess(running.agent, running.dir);
    running = null;
  });

  after(async () => {
    await cloud?.close();
    await server?.stop();
    await broker?.stop();
    removeDir(root);
  });

  const cases = [
    ...AGENT_STEPS.filter((s) => s !== 'rollback-written').map((step) => ({ step, bundle: () => v2, expect: 'committed', final: '2.0.0' })),
    ...(['trial-written', 'runtime-started', 'health-judged', 'rollback-written'] as const).map((step) => ({ step, bundle: () => broken, expect: 'rolled-back', final: '1.0.0' })),
  ];

  for (const c of cases) {
    it(`killed at ${c.step} while ${c.expect === 'committed' ? 'updating to a healthy release' : 'trying a crashing release'}: current stays complete and the agent converges to ${c.final}`, async () => {
      const siteId = `ota-kill-${c.step}-${c.expect}`.slice(0, 60);
      const dir = join(root, siteId);
      cpSync(template, dir, { recursive: true, verbatimSymlinks: true });
      running = { agent: null, dir };
      const id = `kill-${c.step}-${c.expect}`.slice(0, 60);
      let since = Date.now();
      running.agent = startAgentProcess({ dir, siteId, fleetPem: fleet.publicPem, mqttUrl: broker.url, killAt: c.step });
      await cloud.connected(siteId, since);
      await cloud.notify(server.notice(siteId, id, c.bundle()));
      const exit = await running.agent.exited;
      assert.equal(exit.signal, 'SIGKILL', `the agent died at ${c.step}: ${running.agent.output.slice(-2000)}`);

      // Right after the kill: current is one of the two releases and complete.
      assert.ok(['1.0.0', c.bundle().version].includes(currentRelease(dir)!), 'current points at a complete release');

      since = Date.now();
      running.agent = startAgentProcess({ dir, siteId, fleetPem: fleet.publicPem, mqttUrl: broker.url });
      const state = await eventually(async () => {
        const s = readState(dir);
        return s.outcomes[id]?.phase === c.expect && s.trial === null && currentRelease(dir) === c.final ? s : undefined;
      }, 60_000, `${id} reaching ${c.expect}`);
      assert.equal(state.committed?.version, c.final, JSON.stringify(state));
      assert.equal(currentRelease(dir), c.final);
      assert.deepEqual(readdirSync(join(dir, 'releases')).filter((n) => n.endsWith('.tmp')), [], 'no half-extracted release left');
      const startsLog = join(dir, 'data', 'starts.log');
      await eventually(async () => {
        const last = readFileSync(startsLog, 'utf8').trim().split('\n').at(-1)!;
        const [version, pid] = last.split(' ');
        if (version !== c.final) return undefined;
        process.kill(Number(pid), 0); // throws while it is not alive
        return true;
      }, 30_000, `the runtime of ${c.final} running`);
      assert.equal(existsSync(join(dir, 'downloads', id)), false, 'the download is cleaned up');
      if (c.step === 'downloading') assert.ok(server.ranges.some((r) => /^bytes=[1-9]\d*-$/.test(r)), `the download was resumed with a Range request (${server.ranges.join(', ')})`);
    });
  }
});
