// Where this package lives and what it is called: Node-RED loads our nodes from the package root
// (its package.json "node-red" section), and the health endpoint reports the version.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';

const PackageJsonSchema = z.object({ name: z.string(), version: z.string() });
export const PACKAGE_NAME = 'lifo4-ems';

function findPackageRoot(from: string): string {
  // Compiled files run from dist/runtime/app, sources from runtime/app: walk up to our package.json.
  for (let dir = from; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = PackageJsonSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
      if (pkg.success && pkg.data.name === PACKAGE_NAME) return dir;
    }
    if (dirname(dir) === dir) throw new Error(`package.json of ${PACKAGE_NAME} not found above ${from}`);
  }
}

export const packageRoot = findPackageRoot(__dirname);
export const packageVersion = PackageJsonSchema.parse(
  JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')),
).version;

/** The embedded Node-RED's version, from its package.json (RED.version appends '-git' inside a git checkout). */
export const nodeRedVersion = PackageJsonSchema.parse(
  JSON.parse(readFileSync(join(dirname(require.resolve('node-red')), '..', 'package.json'), 'utf8')),
).version;
