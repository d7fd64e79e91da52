// `npm run build` step: the edge's default ONNX models, made by our own training commands
// (`lifo4 ml train ...`, compiled to dist/ just before this runs) into dist/models/:
//   forecast.onnx  day-ahead net load (load - PV, what the edge meters) of the household profile
//                  in data/, the site the simulator's household replays
//   anomaly.onnx   isolation forest on healthy simulated battery cycles, with its alarm threshold
//   ageing.onnx    LFP capacity fade fitted to the Severson 2019 cell in data/
// A model is trained again only when one of its inputs (the data, the trainer's sources, this
// script) is newer than the file, so repeated builds stay fast. Trainings run side by side.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'dist', 'runtime', 'cli', 'main.js');
const outDir = join(root, 'dist', 'models');

/** Every file under these paths (files or folders, relative to the package root). */
function files(...paths) {
  const out = [];
  const walk = (p) => {
    if (!existsSync(p)) return;
    if (statSync(p).isDirectory()) for (const name of readdirSync(p)) walk(join(p, name));
    else out.push(p);
  };
  for (const p of paths) walk(join(root, p));
  return out;
}

// The trainer's code and the CLI that runs it: a change there may change every model.
const common = ['scripts/train-models.mjs', 'runtime/ml', 'io/ml', 'io/data', 'runtime/cli/ml-command.ts', 'runtime/cli/main.ts'];

const MODELS = [
  {
    name: 'forecast',
    args: ['ml', 'train', 'forecast', '--data', join(root, 'data', 'household_profile.csv'), '--series', 'net'],
    inputs: [...common, 'data/household_profile.csv', 'domain/forecast'],
  },
  {
    name: 'anomaly',
    args: ['ml', 'train', 'anomaly'],
    // Trained on cycles of the simulator, which reads the OCV and ageing data.
    inputs: [...common, 'data', 'domain/anomaly', 'domain/lfp', 'runtime/simulator'],
  },
  {
    name: 'ageing',
    args: ['ml', 'train', 'ageing'],
    inputs: [...common, 'data/severson2019_b2c30_health_fig04.csv'],
  },
];

function newestInput(model) {
  return Math.max(0, ...files(...model.inputs).map((f) => statSync(f).mtimeMs));
}

function train(model, out) {
  // Written beside the target and renamed: an interrupted build leaves no half or stale model newer than its inputs.
  const tmp = `${out}.tmp-${process.pid}`;
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, [cli, ...model.args, '--out', tmp], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) {
        rmSync(tmp, { force: true });
        reject(new Error(`training ${model.name} failed (exit ${code})`));
        return;
      }
      renameSync(tmp, out);
      console.log(`models: ${model.name}.onnx trained in ${((Date.now() - t0) / 1000).toFixed(1)} s ${stdout.trim()}`);
      resolve();
    });
  });
}

if (!existsSync(cli)) {
  console.error('models: dist/runtime/cli/main.js is missing: compile first (tsc -p tsconfig.json)');
  process.exit(1);
}
mkdirSync(outDir, { recursive: true });
const jobs = [];
for (const model of MODELS) {
  const out = join(outDir, `${model.name}.onnx`);
  if (existsSync(out) && statSync(out).mtimeMs > newestInput(model)) continue;
  jobs.push(train(model, out));
}
const results = await Promise.allSettled(jobs);
const failed = results.filter((r) => r.status === 'rejected');
for (const f of failed) console.error(`models: ${f.reason instanceof Error ? f.reason.message : String(f.reason)}`);
if (failed.length) process.exit(1);
