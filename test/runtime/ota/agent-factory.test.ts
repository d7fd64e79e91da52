// The factory install (what `lifo4 start` and a device fresh from the factory begin with): a bundle
// from a local folder goes through the same checks as an update and is committed at once; it is
// ignored once a release is installed, and refused when tampered with. A committed runtime that
// stops on a configuration error is not restarted in a loop: the agent says so and lets its own
// supervisor decide.
import { strict as assert } from 'node:assert';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EdgeAgent } from '../../../runtime/ota/edge-agent';
import { BundleError, MANIFEST_FILE } from '../../../runtime/ota/manifest';
import { eventually } from '../../integration/lifo4-process';
import { buildTestBundle, currentRelease, ed25519, readState, ReleaseSource, removeDir, tempDir } from './ota-fixtures';

describe('OTA edge agent: factory install', function () {
  this.timeout(60_000);
  const fleet = ed25519();
  let root: string;
  let source: ReleaseSource;
  const agents: EdgeAgent[] = [];

  before(() => {
    root = tempDir('factory');
    source = new ReleaseSource(root, 1024);
  });

  after(async () => {
    for (const a of agents) await a.stop();
    removeDir(root);
  });

  function agent(dir: string): EdgeAgent {
    const a = new EdgeAgent({ dir, siteId: 'factory-1', fleetKey: fleet.publicKey, mqtt: null, log: () => undefined, restartDelayMs: 100 });
    agents.push(a);
    return a;
  }

  const starts = (dir: string) => (existsSync(join(dir, 'data', 'starts.log')) ? readFileSync(join(dir, 'data', 'starts.log'), 'utf8').trim().split('\n') : []);

  it('installs and commits a local bundle when no release is installed, then starts it', async () => {
    const dir = join(root, 'a');
    const b = await buildTestBundle({ root, source, key: fleet.privateKey, version: '1.0.0-factory.1', sequence: 1 });
    const a = agent(dir);
    assert.equal(await a.installLocal(b.dir), true);
    assert.equal(readState(dir).committed?.version, '1.0.0-factory.1');
    assert.equal(currentRelease(dir), '1.0.0-factory.1');
    await a.start();
    await eventually(async () => (starts(dir).length > 0 ? true : undefined), 20_000, 'the factory runtime started');

    const later = await buildTestBundle({ root, source, key: fleet.privateKey, version: '2.0.0', sequence: 2 });
    assert.equal(await agent(dir).installLocal(later.dir), false, 'a device with a release ignores a factory bundle');
    assert.equal(readState(dir).committed?.version, '1.0.0-factory.1');
  });

  it('refuses a tampered factory bundle and installs nothing', async () => {
    const dir = join(root, 'b');
    const good = await buildTestBundle({ root, source, key: fleet.privateKey, version: '1.0.1', sequence: 3 });
    const bad = join(root, 'bundles', 'tampered');
    cpSync(good.dir, bad, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(bad, MANIFEST_FILE), 'utf8')) as { entry: string[] };
    writeFileSync(join(bad, MANIFEST_FILE), JSON.stringify({ ...manifest, entry: ['evil.js'] }, null, 2));
    await assert.rejects(agent(dir).installLocal(bad), (err: unknown) => err instanceof BundleError && err.reason === 'signature-invalid');
    assert.equal(existsSync(join(dir, 'state.json')), false, 'no state written');
    assert.equal(currentRelease(dir), null);
  });

  it('does not restart a committed runtime that stopped on a configuration error, and says so', async () => {
    const dir = join(root, 'c');
    const b = await buildTestBundle({ root, source, key: fleet.privateKey, version: '1.0.2', sequence: 4, behaviour: 'config-error' });
    const a = agent(dir);
    await a.installLocal(b.dir);
    const stopped = new Promise<string>((resolve) => a.once('runtime-config-error', resolve));
    await a.start();
    assert.equal(await stopped, '1.0.2');
    await new Promise((r) => setTimeout(r, 500)); // five restart delays
    assert.equal(starts(dir).length, 1, 'started once, not in a loop');
  });
});
