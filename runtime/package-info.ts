// What this package and the Node-RED it embeds are called and which versions they are: the health
// endpoint reports both, and OTA bundles carry the package version. Node-RED is a peer of the
// package (a Node-RED user's own install provides it), so it is looked up only by the commands
// that run it, and its absence is a plain message saying what to install, not a stack trace.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { packageRoot } from '../io/package-root';

const PackageJsonSchema = z.object({ name: z.string(), version: z.string() });

export const packageVersion = PackageJsonSchema.parse(
  JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')),
).version;

/** The Node-RED major the host is built and tested against (package.json peerDependencies). */
export const NODE_RED_MAJOR = 4;

export class NodeRedMissingError extends Error {
  override readonly name = 'NodeRedMissingError';
}

/** node-red's package.json, as Node's resolution finds it from this package; throws NodeRedMissingError when absent. */
export function nodeRedPackageJson(resolve: (id: string) => string = require.resolve): string {
  try {
    return join(dirname(resolve('node-red')), '..', 'package.json');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw err;
    throw new NodeRedMissingError(
      `node-red is not installed beside lifo4-ems (${packageRoot}): the lifo4 host runs the user's ` +
      `Node-RED. Install it next to this package with \`npm install node-red@${NODE_RED_MAJOR}\` (in the ` +
      'folder whose node_modules holds lifo4-ems), or run `npm install` in a checkout of the repository.',
    );
  }
}

/** The embedded Node-RED's version, from its package.json (RED.version appends '-git' inside a git checkout). */
export function nodeRedVersion(): string {
  return PackageJsonSchema.parse(JSON.parse(readFileSync(nodeRedPackageJson(), 'utf8'))).version;
}
