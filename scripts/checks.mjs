// `npm test`'s static checks before mocha, in two lanes side by side (each lane keeps its order):
// the server code's (ESLint with the floor rules, madge, the flow lint) and the dashboard's (its
// type-check and Vitest). They are independent and each mostly single-threaded, so on a machine
// with two cores the lanes together take about as long as the longer one. Each lane's output is
// printed whole when it ends, so the two never interleave; any failure fails the run.
import { Buffer } from 'node:buffer';
import { spawn } from 'node:child_process';

const LANES = [
  ['lint', 'lint:flows'],
  ['typecheck:dashboard', 'test:dashboard'],
];
const npm = process.env.npm_execpath ? [process.execPath, process.env.npm_execpath] : ['npm'];

function run(script) {
  return new Promise((resolve) => {
    const [cmd, ...pre] = npm;
    const child = spawn(cmd, [...pre, 'run', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks = [];
    child.stdout.on('data', (c) => chunks.push(c));
    child.stderr.on('data', (c) => chunks.push(c));
    child.on('close', (code, signal) => resolve({ script, ok: code === 0, output: Buffer.concat(chunks).toString(), why: signal ?? `exit ${code}` }));
  });
}

async function lane(scripts) {
  for (const script of scripts) {
    const r = await run(script);
    process.stdout.write(r.output);
    if (!r.ok) return `npm run ${script} failed (${r.why})`;
  }
  return null;
}

const failures = (await Promise.all(LANES.map(lane))).filter(Boolean);
for (const f of failures) console.error(`checks: ${f}`);
process.exit(failures.length ? 1 : 0);
