// Bind addresses per listener and the edge's refusal to run open beyond loopback: the settings
// as a user gives them, and the real processes they start.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSettings, SettingsError } from '../../settings';
import { freePorts, Lifo4Process, runCli } from '../integration/lifo4-process';

describe('security: bind addresses per listener', function () {
  this.timeout(60_000);
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'lifo4-binds-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('puts every listener on 127.0.0.1 by default, each on its own address when given, and --host stays the default of all', () => {
    const plain = loadSettings('all', { env: {}, cwd: dir });
    assert.deepEqual([plain.cloudHost, plain.edgeHost, plain.mqttHost, plain.simHost, plain.controlHost], Array(5).fill('127.0.0.1'));
    const old = loadSettings('all', { flags: { host: '127.0.0.9' }, env: {}, cwd: dir });
    assert.deepEqual([old.cloudHost, old.edgeHost, old.mqttHost, old.simHost, old.controlHost], Array(5).fill('127.0.0.9'));
    const split = loadSettings('all', { flags: { host: '127.0.0.9', cloudHost: '0.0.0.0' }, env: { LIFO4_SIM_HOST: '127.0.0.2' }, cwd: dir });
    assert.equal(split.cloudHost, '0.0.0.0', 'exposing the dashboard');
    assert.equal(split.edgeHost, '127.0.0.9', 'exposes no other listener');
    assert.equal(split.simHost, '127.0.0.2');
  });

  it('refuses an edge without authentication beyond loopback, saying why, and allows it on loopback', () => {
    const open = () => loadSettings('edge', { flags: { edgeHost: '0.0.0.0', edgeAuth: 'off' }, env: {}, cwd: dir });
    assert.throws(open, (err: unknown) => err instanceof SettingsError && /--edge-auth: the edge would listen on 0\.0\.0\.0 without authentication/.test(err.message));
    assert.throws(() => loadSettings('all', { flags: { host: '192.168.1.10', edgeAuth: 'off' }, env: {}, cwd: dir }), SettingsError, 'through the old --host as well');
    assert.equal(loadSettings('edge', { flags: { edgeAuth: 'off' }, env: {}, cwd: dir }).edgeAuth, 'off');
    assert.equal(loadSettings('edge', { flags: { edgeHost: '0.0.0.0' }, env: {}, cwd: dir }).edgeAuth, 'on');
  });

  it('`lifo4 edge` beyond loopback without authentication does not start', () => {
    const r = runCli(['edge', '--edge-host', '0.0.0.0', '--data-dir', dir], { LIFO4_EDGE_AUTH: 'off' });
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /without authentication: whoever reaches that address could deploy code and command the battery/);
  });

  it('the simulator listens for Modbus and its control API on the addresses given to each', async () => {
    const [modbus, control] = (await freePorts(2)) as [number, number];
    const sim = new Lifo4Process(['sim', '--modbus-port', String(modbus), '--control-port', String(control), '--control-host', '127.0.0.2', '--data-dir', dir]);
    try {
      await sim.waitFor(/sim ready/, 30_000);
      assert.equal((await fetch(`http://127.0.0.2:${control}/state`)).status, 200);
      await assert.rejects(fetch(`http://127.0.0.1:${control}/state`), 'not on the Modbus address');
      const { createConnection } = await import('node:net');
      await new Promise<void>((resolve, reject) => createConnection(modbus, '127.0.0.1').once('connect', function (this: import('node:net').Socket) { this.destroy(); resolve(); }).once('error', reject));
    } finally {
      await sim.stop();
    }
  });
});
