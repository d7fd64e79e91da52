// A temporary Node-RED user directory per test for the node tests: the test helper sets none, and
// safety-limits keeps its e-stop latch under the user directory (~/.node-red without one, shared
// by every test run on the machine). Fresh per test, so a latch one test sets never reaches the next.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import helper from 'node-red-node-test-helper';

/** Call inside a describe, before its own hooks: returns the current test's user directory. */
export function tempUserDirPerTest(): () => string {
  const made: string[] = [];
  beforeEach(() => {
    const dir = mkdtempSync(join(tmpdir(), 'lifo4-userdir-'));
    made.push(dir);
    helper.settings({ userDir: dir });
  });
  after(() => {
    helper.settings({});
    for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return () => made[made.length - 1] ?? '';
}
