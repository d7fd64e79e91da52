// Where this package lives: its data files (data/), the models the build trained (dist/models/) and
// the package.json whose "node-red" section lists our nodes are all found from here, whether the
// code runs from the sources, from dist/, or installed in a Node-RED user directory.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const PACKAGE_NAME = 'lifo4-ems';

function findPackageRoot(from: string): string {
  // Compiled files run from dist/io, sources from io/: walk up to our package.json.
  for (let dir = from; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg: unknown = JSON.parse(readFileSync(file, 'utf8'));
      if (typeof pkg === 'object' && pkg !== null && (pkg as { name?: unknown }).name === PACKAGE_NAME) return dir;
    }
    if (dirname(dir) === dir) throw new Error(`package.json of ${PACKAGE_NAME} not found above ${from}`);
  }
}

export const packageRoot = findPackageRoot(__dirname);
