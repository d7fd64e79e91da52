// `node dist/bench/profile-top.js <file.cpuprofile> [n]`: the n functions with the most self time in
// a V8 CPU profile (as written by --cpu-prof or bench/cpu-profile.ts), one line each; then for each
// further argument (a regular expression on "function url"), the total time of the samples with a
// matching frame anywhere on their stack.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const [file, nArg, ...patterns] = process.argv.slice(2);
if (!file) throw new Error('usage: profile-top <file.cpuprofile> [n] [pattern...]');
const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const selfUs = new Map<string, number>();
for (let i = 0; i < p.samples.length; i++) {
  const n = byId.get(p.samples[i]!)!;
  const f = n.callFrame;
  const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/node_modules\//, 'nm/').replace(/^file:\/\/.*\/dist\//, '')}:${f.lineNumber + 1}`;
  selfUs.set(key, (selfUs.get(key) ?? 0) + (p.timeDeltas[i + 1] ?? 0));
}
const total = p.endTime - p.startTime;
const top = [...selfUs].sort((a, b) => b[1] - a[1]).slice(0, Number(nArg ?? 40));
console.log(`total ${(total / 1e6).toFixed(1)} s`);
for (const [k, us] of top) console.log(`${(us / 1000).toFixed(0).padStart(7)} ms ${((us / total) * 100).toFixed(1).padStart(5)} %  ${k}`);

const parent = new Map<number, number>();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const frameKey = (n: ProfileNode): string => `${n.callFrame.functionName} ${n.callFrame.url}`;
for (const pattern of patterns) {
  const re = new RegExp(pattern);
  let us = 0;
  for (let i = 0; i < p.samples.length; i++) {
    for (let id: number | undefined = p.samples[i]; id !== undefined; id = parent.get(id)) {
      if (re.test(frameKey(byId.get(id)!))) {
        us += p.timeDeltas[i + 1] ?? 0;
        break;
      }
    }
  }
  console.log(`incl ${(us / 1000).toFixed(0).padStart(7)} ms ${((us / total) * 100).toFixed(1).padStart(5)} %  /${pattern}/`);
}
