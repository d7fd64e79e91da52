// The floors of docs/ARCHITECTURE.md are enforced by `npm run lint` (part of `npm test`): ESLint
// with eslint.config.mjs, and madge for cycles closed by type imports, which ESLint's cycle rule
// does not follow. Here both check a small tree of their own, to show that they fail on what they
// must refuse and pass what the floors allow.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ESLint } from 'eslint';
import { packageRoot } from '../../io/package-root';

const TREE: Record<string, string> = {
  'domain/limits.ts': 'export const MAX_CELL_V = 3.65;\n',
  'domain/reaches-up.ts': "import { hostName } from '../runtime/host';\nexport const upward = hostName;\n",
  'domain/does-io.ts': "import { readFileSync } from 'node:fs';\nexport const bytes = Buffer.from(readFileSync('x'));\n",
  'io/first.ts': "import { second } from './second';\nexport const first = (): number => second() + 1;\n",
  'io/second.ts': "import { first } from './first';\nexport const second = (): number => (first ? 1 : 0);\n",
  'io/typed-a.ts': "import { b } from './typed-b';\nexport interface A { n: number }\nexport const a = b;\n",
  'io/typed-b.ts': "import type { A } from './typed-a';\nexport const b = 1;\nexport type B = A;\n",
  'nodes/fine.ts': "import { MAX_CELL_V } from '../domain/limits';\nexport const limit = MAX_CELL_V;\n",
  'nodes/reaches-host.ts': "import { hostName } from '../runtime/host';\nexport const name = hostName;\n",
  'runtime/host.ts': "import { limit } from '../nodes/fine';\nexport const hostName = `host ${limit}`;\n",
};

describe('the floors, as the lint enforces them', function () {
  this.timeout(60_000);
  let dir: string;
  let results: Map<string, string[]>;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lifo4-floors-'));
    for (const [file, text] of Object.entries(TREE)) {
      mkdirSync(dirname(join(dir, file)), { recursive: true });
      writeFileSync(join(dir, file), text);
    }
    // The rules resolve the floors' folders against the working directory, as `npm run lint` does
    // from the repository root: lint the small tree from its own root.
    const cwd = process.cwd();
    process.chdir(dir);
    let linted: ESLint.LintResult[];
    try {
      linted = await new ESLint({ cwd: dir, overrideConfigFile: join(packageRoot, 'eslint.config.mjs') }).lintFiles(Object.keys(TREE));
    } finally {
      process.chdir(cwd);
    }
    results = new Map(linted.map((r) => [r.filePath.slice(dir.length + 1), r.messages.map((m) => `${m.ruleId ?? 'fatal'}: ${m.message}`)]));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const messagesOf = (file: string): string[] => results.get(file) ?? [];

  it('refuses an import from a higher floor: the domain or a node reaching into the host', () => {
    assert.ok(messagesOf('domain/reaches-up.ts').some((m) => m.startsWith('import-x/no-restricted-paths')), messagesOf('domain/reaches-up.ts').join('\n'));
    assert.ok(messagesOf('nodes/reaches-host.ts').some((m) => m.startsWith('import-x/no-restricted-paths')), messagesOf('nodes/reaches-host.ts').join('\n'));
  });

  it('refuses an import cycle', () => {
    assert.ok(messagesOf('io/first.ts').some((m) => m.startsWith('import-x/no-cycle')), messagesOf('io/first.ts').join('\n'));
  });

  it("refuses Node.js modules and globals in the domain, which runs in the browser too", () => {
    const m = messagesOf('domain/does-io.ts');
    assert.ok(m.some((x) => x.startsWith('import-x/no-nodejs-modules')), m.join('\n'));
    assert.ok(m.some((x) => x.startsWith('no-restricted-globals')), m.join('\n'));
  });

  it('refuses a cycle closed by a type import, with madge as `npm run lint:cycles` runs it', () => {
    const madge = join(packageRoot, 'node_modules', '.bin', 'madge');
    const run = (...paths: string[]) => spawnSync(madge, ['--circular', '--extensions', 'ts', '--no-spinner', '--no-color', ...paths], { cwd: dir, encoding: 'utf8' });
    const typed = run('io/typed-a.ts', 'io/typed-b.ts');
    assert.equal(typed.status, 1, typed.stdout + typed.stderr);
    assert.match(typed.stdout, /typed-a\.ts > typed-b\.ts/);
    const clean = run('nodes/fine.ts', 'domain/limits.ts');
    assert.equal(clean.status, 0, clean.stdout + clean.stderr);
  });

  it('passes imports that point down a floor', () => {
    assert.deepEqual(messagesOf('nodes/fine.ts'), []);
    assert.deepEqual(messagesOf('runtime/host.ts'), []);
    assert.deepEqual(messagesOf('domain/limits.ts'), []);
  });
});
