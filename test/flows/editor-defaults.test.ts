// The shipped flows and the examples load in the editor without a warning triangle: every node
// holds every property its editor form defines (a missing number reads as "Invalid number"), and
// no info text cites a file the repository does not have.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../io/package-root';

/** The property names of each node type's editor `defaults`, read from nodes/<type>/<type>.html. */
function editorDefaults(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const type of readdirSync(join(packageRoot, 'nodes'))) {
    const html = join(packageRoot, 'nodes', type, `${type}.html`);
    if (!existsSync(html)) continue;
    const block = /defaults:\s*\{([\s\S]*?)\n\s{4}\},/.exec(readFileSync(html, 'utf8'))?.[1] ?? '';
    out.set(type, [...block.matchAll(/^\s{6}(\w+):\s*\{/gm)].map((m) => m[1] as string));
  }
  return out;
}

const files = ['flows', 'examples'].flatMap((d) => readdirSync(join(packageRoot, d)).filter((f) => f.endsWith('.json')).map((f) => join(d, f)));

describe('flows/ and examples/ in the editor', () => {
  const defaults = editorDefaults();

  it('reads the editor defaults of the node types', () => {
    assert.ok((defaults.get('telemetry-in') ?? []).includes('orderWaitS'));
  });

  for (const file of files) {
    it(`${file}: every node has every property of its editor form, and its texts cite only files that exist`, () => {
      const text = readFileSync(join(packageRoot, file), 'utf8');
      const missing = (JSON.parse(text) as { id: string; type: string }[]).flatMap((n) =>
        (defaults.get(n.type) ?? []).filter((k) => !(k in n)).map((k) => `${n.id}.${k}`));
      assert.deepEqual(missing, []);
      for (const [, cited] of text.matchAll(/\b((?:docs\/)?[A-Z][A-Z_-]+\.md)\b/g)) assert.ok(existsSync(join(packageRoot, cited as string)), `cites ${cited}`);
    });
  }
});
