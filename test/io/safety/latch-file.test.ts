// The e-stop latch file: where it lives, what a write leaves on disk, and what reading a damaged
// or missing one gives.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { latchFilePath, latchFileStore, readLatchFile, writeLatchFile } from '../../../io/safety/latch-file';

describe('safety latch file', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'lifo4-latch-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('lives at <userDir>/lifo4/safety-latch/<siteId>.json and refuses a site id that is not a file name', () => {
    assert.equal(latchFilePath('/u', 'site-1'), '/u/lifo4/safety-latch/site-1.json');
    for (const bad of ['../x', 'a/b', '', '.', 'x'.repeat(65)]) assert.throws(() => latchFilePath('/u', bad), /not a file name/);
  });

  it('writes the latch whole, private to the user, with no temp file left, and reads it back', () => {
    const store = latchFileStore(dir, 'site-1');
    assert.deepEqual(store.read(), { kind: 'absent' });
    store.write({ latched: true, by: 'ops', since: 42 });
    assert.deepEqual(store.read(), { kind: 'found', estop: { latched: true, by: 'ops', since: 42 } });
    const folder = join(dir, 'lifo4', 'safety-latch');
    assert.deepEqual(readdirSync(folder), ['site-1.json']);
    assert.equal(statSync(store.path).mode & 0o777, 0o600);
    const json = JSON.parse(readFileSync(store.path, 'utf8')) as Record<string, unknown>;
    assert.equal(json.siteId, 'site-1');
    store.write({ latched: false, by: null, since: null });
    assert.deepEqual(store.read(), { kind: 'found', estop: { latched: false, by: null, since: null } });
  });

  it('reports a file that is not JSON, not a latch, or not readable as unreadable', () => {
    const path = latchFilePath(dir, 's');
    mkdirSync(join(dir, 'lifo4', 'safety-latch'), { recursive: true });
    writeFileSync(path, '{"latched": tr');
    assert.equal(readLatchFile(path).kind, 'unreadable');
    writeFileSync(path, '{"latched": "yes"}');
    assert.equal(readLatchFile(path).kind, 'unreadable');
    rmSync(path);
    mkdirSync(path); // a folder where the file should be: EISDIR
    assert.equal(readLatchFile(path).kind, 'unreadable');
  });

  it('throws when the folder cannot be made, leaving the old record as it was', () => {
    writeFileSync(join(dir, 'lifo4'), 'a file where the folder should be');
    assert.throws(() => writeLatchFile(latchFilePath(dir, 's'), 's', { latched: true, by: 'ops', since: 1 }), /ENOTDIR|EEXIST/);
  });
});
