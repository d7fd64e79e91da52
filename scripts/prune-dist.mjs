// Removes compiled files from dist/ whose source is gone (a module moved or deleted): tsc never
// deletes its old outputs, and mocha would run a stale dist/test/**/*.test.js, Node-RED could load a
// stale node. dist/models (trained by the build) and the dashboard's own dist are not touched.
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
const KEEP = new Set(['models', '.tsbuildinfo']);

/** The source a dist file was made from: x.js / x.js.map from x.ts, assets and JSON copied as they are. */
function sourcesOf(file) {
  const rel = relative(dist, file);
  const base = rel.replace(/\.js\.map$|\.js$/, '');
  return base === rel ? [join(root, rel)] : [join(root, `${base}.ts`)];
}

function prune(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (dir === dist && KEEP.has(name)) continue;
    if (statSync(path).isDirectory()) {
      prune(path);
      if (readdirSync(path).length === 0) rmSync(path, { recursive: true });
    } else if (!sourcesOf(path).some((s) => existsSync(s))) {
      rmSync(path);
    }
  }
}

if (existsSync(dist)) prune(dist);
