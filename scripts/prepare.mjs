// npm's `prepare` step: builds dist/ (`npm run build`) whenever npm installs this folder itself
// (`npm install` in a checkout, a git dependency, `npm pack`). A folder install into another project
// (`npm install /path/to/checkout`, e.g. from a Node-RED user directory) runs it too, in the checkout,
// after installing only the runtime dependencies there: then the build tools (devDependencies) are
// fetched into the checkout first, the package is built, and they are removed again, so the
// checkout ends as lean as an installed tarball. An `npm ci --omit=dev` in a built checkout (the
// edge image's staging copy) keeps the existing build.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// Set for the install this script starts itself: that install must not build a second time.
const INNER = 'LIFO4_PREPARE_INNER';
if (process.env[INNER]) process.exit(0);
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const npm = process.env.npm_execpath ? [process.execPath, process.env.npm_execpath] : ['npm'];

function run(args, what) {
  const [cmd, ...pre] = npm;
  console.log(`lifo4-ems prepare: ${what}`);
  const r = spawnSync(cmd, [...pre, ...args], { cwd: root, stdio: 'inherit', env: { ...process.env, [INNER]: '1' } });
  if (r.status !== 0) {
    console.error(`lifo4-ems prepare: \`npm ${args.join(' ')}\` failed (${r.error?.message ?? `exit ${r.status}`})`);
    process.exit(r.status || 1);
  }
}

const missing = Object.keys(pkg.devDependencies ?? {}).filter((name) => !existsSync(join(root, 'node_modules', name, 'package.json')));
const built = existsSync(join(root, 'dist', 'nodes')) && existsSync(join(root, 'dist', 'models'));
// npm sets INIT_CWD to the folder it was started in: this checkout, or the project installing it.
const installedElsewhere = process.env.INIT_CWD !== undefined && resolve(process.env.INIT_CWD) !== resolve(root);

if (missing.length === 0) {
  run(['run', 'build'], 'building dist/');
} else if (!installedElsewhere) {
  if (!built) {
    console.error(`lifo4-ems prepare: the build tools are not installed (${missing.slice(0, 3).join(', ')}, ...): run \`npm install\` with the devDependencies, then \`npm run build\``);
    process.exit(1);
  }
  console.log('lifo4-ems prepare: devDependencies omitted, keeping the existing build in dist/');
} else {
  // --include overrides an inherited --omit=dev. The dependencies' install scripts run (better-sqlite3
  // compiles here if nothing did yet); this script's own run inside it returns at once (INNER).
  const flags = ['--no-save', '--global=false', '--no-audit', '--no-fund'];
  run(['install', '--include=dev', ...flags], `installing the build tools into ${root}`);
  run(['run', 'build'], 'building dist/');
  run(['prune', '--omit=dev', ...flags], 'removing the build tools again');
}
