// Node-RED loads a node's editor form from the .html file beside its .js file, and tsc copies
// only what it compiles: copy the editor forms, icons and data files next to the compiled nodes.
import { cpSync, existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const assetDirs = ['domain', 'io', 'nodes', 'editor-plugins', 'runtime'];
const assetExt = /\.(html|png|svg|csv|txt|md)$/;

function copyAssets(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) copyAssets(path);
    // locales/<lang>/<type>.json: Node-RED reads a node's message catalog beside its .js file.
    else if (assetExt.test(name) || name === 'LICENSE' || (name.endsWith('.json') && /[\\/]locales[\\/]/.test(path))) {
      cpSync(path, join(root, 'dist', relative(root, path)));
    }
  }
}
for (const dir of assetDirs) if (existsSync(join(root, dir))) copyAssets(join(root, dir));
