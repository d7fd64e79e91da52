// cloud.db holds password hashes, claim-token hashes and the certificate deny list: it and its WAL
// and shared-memory files are the owner's only, also in a data directory made before that rule (a
// real `lifo4 site revoke` process opens it, as the cloud does).
import { strict as assert } from 'node:assert';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runCli } from '../integration/lifo4-process';

const mode = (f: string) => statSync(f).mode & 0o777;

describe('security: cloud.db and its WAL are mode 0600', function () {
  this.timeout(60_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'lifo4-sec-db-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('tightens a pre-existing world-readable cloud.db, -wal and -shm on open', () => {
    const path = join(dir, 'cloud.db');
    // An old data directory: WAL mode, files left readable by everyone, the WAL still open by a reader.
    const old = new Database(path);
    old.pragma('journal_mode = WAL');
    old.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1);');
    for (const f of [path, `${path}-wal`, `${path}-shm`]) chmodSync(f, 0o644);
    try {
      const r = runCli(['site', 'revoke', 'site-old', '--data-dir', dir]);
      assert.equal(r.code, 0, r.stderr);
      for (const f of [path, `${path}-wal`, `${path}-shm`]) {
        assert.ok(existsSync(f), f);
        assert.equal(mode(f).toString(8), '600', f);
      }
    } finally {
      old.close();
    }
  });

  it('creates a new cloud.db owner-only whatever the umask', () => {
    const fresh = join(dir, 'fresh');
    const r = runCli(['site', 'revoke', 'site-new', '--data-dir', fresh], { });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(mode(join(fresh, 'cloud.db')).toString(8), '600');
    for (const f of ['cloud.db-wal', 'cloud.db-shm']) if (existsSync(join(fresh, f))) assert.equal(mode(join(fresh, f)).toString(8), '600', f);
  });
});
