// The edge control loop's latency against the simulator over Modbus TCP: from the start of a
// battery poll to the PCS setpoint write acknowledged, through flows/edge.json's nodes in Node-RED,
// compared with the same Modbus requests made directly by a bare modbus-serial client (the floor),
// and the shortest cycle that runs without a missed cycle.
// Run: npm run bench -- loop [--cycle-ms 100] [--seconds 60] [--min-seconds 20] [--quick]
//      [--transport rtu [--baud 115200]]
// With --transport rtu every unit sits on one Modbus RTU bus: the simulator serves it on one end of
// a socat pseudo-terminal pair, the flow and the bare client open the other. A pty passes bytes as
// fast as it can whatever the baud rate, so the measured figures hold no time on the wire; the
// bus floor (frame bytes x bits per character / baud + the 3.5-character silences, rtu-timing.ts)
// is what a real line adds, reported beside them.
// The simulator runs in a child process (`lifo4 sim`), so it does not share the event loop with
// the flow under test; Node-RED runs in this process (node-red-node-test-helper), so the poller's
// msg.trace.pollStartedAt (performance.now()) is comparable with performance.now() here.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import ModbusRTU from 'modbus-serial';
import helper from 'node-red-node-test-helper';
import arbiter from '../nodes/arbiter/arbiter';
import modbusConnection from '../nodes/modbus-connection/modbus-connection';
import { ModbusTransport } from '../io/modbus/transport';
import pcsSetpoint from '../nodes/pcs-setpoint/pcs-setpoint';
import safetyLimits from '../nodes/safety-limits/safety-limits';
import sunspecDevice from '../nodes/sunspec-device/sunspec-device';
import { packageRoot } from '../io/package-root';
import { busTimeMs, readFrameBytes, writeFrameBytes, type SerialLine } from '../io/modbus/rtu-timing';
import { startPtyPair, type PtyPair } from '../test/services/socat';
import { loopFlow } from './loop-flow';

/** The RTU bus of a run, when there is one. */
type Bus = { path: string; baudRate: number } | undefined;

const NODES = [modbusConnection, sunspecDevice, safetyLimits, arbiter, pcsSetpoint];
const MIN_CYCLE_STEPS = [50, 40, 30, 20, 15, 10];
/** A gap between battery poll starts longer than this many cycles is a skipped cycle. */
const SKIP_FACTOR = 1.5;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------- what the flow sends

interface Req { unit: number; kind: 'read' | 'write'; address: number; count: number; values?: number[]; at: number; done?: number }

/** Records every request the flow's transports are asked for while `on`. */
const recorder = { on: false, reqs: [] as Req[] };
{
  const proto = ModbusTransport.prototype;
  const read = proto.readHoldingRegisters;
  const write = proto.writeRegisters;
  proto.readHoldingRegisters = function (this: ModbusTransport, unit: number, address: number, count: number): Promise<number[]> {
    const p = read.call(this, unit, address, count);
    if (recorder.on) {
      const r: Req = { unit, kind: 'read', address, count, at: performance.now() };
      recorder.reqs.push(r);
      p.then(() => { r.done = performance.now(); }, () => undefined);
    }
    return p;
  };
  proto.writeRegisters = function (this: ModbusTransport, unit: number, address: number, values: readonly number[]): Promise<void> {
    const p = write.call(this, unit, address, values);
    if (recorder.on) {
      const r: Req = { unit, kind: 'write', address, count: values.length, values: [...values], at: performance.now() };
      recorder.reqs.push(r);
      p.then(() => { r.done = performance.now(); }, () => undefined);
    }
    return p;
  };
}

// ---------------------------------------------------------------- statistics

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}
const round = (x: number, digits = 2): number => Number(x.toFixed(digits));

interface Summary { p50: number; p99: number; max: number; mean: number }
function summary(xs: readonly number[]): Summary {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: round(percentile(s, 50)), p99: round(percentile(s, 99)), max: round(s[s.length - 1] ?? Number.NaN), mean: round(s.reduce((a, b) => a + b, 0) / (s.length || 1)) };
}

// ---------------------------------------------------------------- the simulator child

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function startSimChild(extra: readonly string[] = []): Promise<{ child: ChildProcess; modbusPort: number; stop: () => Promise<void> }> {
  const [modbusPort, controlPort] = [await freePort(), await freePort()];
  const dataDir = mkdtempSync(join(tmpdir(), 'lifo4-bench-loop-'));
  const child = spawn(process.execPath, [join(packageRoot, 'dist', 'runtime', 'cli', 'main.js'), 'sim',
    '--modbus-port', String(modbusPort), '--control-port', String(controlPort), '--data-dir', dataDir, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the simulator did not get ready within 20 s: ${stderr}`)), 20_000);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (/sim ready/.test(out)) { clearTimeout(timer); resolve(); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`the simulator exited (${code}): ${stderr}`)); });
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  return { child, modbusPort, stop };
}

// ---------------------------------------------------------------- the loop in Node-RED

interface LoopRun {
  cycleMs: number;
  cycles: number;
  /** Cycles whose write came later than one cycle after the poll started (or never). */
  overCycle: number;
  /** Cycles that never started: gaps between battery poll starts beyond 1.5 cycles. */
  skipped: number;
  latencies: number[];
  untracedWrites: number;
  /** The requests of each cycle, cut at the battery poll starts. */
  perCycle: Req[][];
  /** The battery poll starts (performance.now()). */
  polls: number[];
}

function pollStart(msg: unknown): number | null {
  const t = (msg as { trace?: { pollStartedAt?: unknown } }).trace?.pollStartedAt;
  return typeof t === 'number' ? t : null;
}

async function runLoop(modbusPort: number, cycleMs: number, seconds: number, warmupMs: number, bus: Bus): Promise<LoopRun> {
  await helper.load(NODES, loopFlow({ modbusPort, cycleMs, taps: { 'bench-polls': ['edge-battery'], 'bench-writes': ['edge-pcs-write'] }, ...(bus ? { rtu: bus } : {}) }));
  let from = Number.POSITIVE_INFINITY;
  let to = Number.POSITIVE_INFINITY;
  const polls: number[] = [];
  const writes = new Map<number, number>();
  let untracedWrites = 0;
  helper.getNode('bench-polls').on('input', (msg) => {
    const t = pollStart(msg);
    if (t !== null && t >= from && t < to) polls.push(t);
  });
  helper.getNode('bench-writes').on('input', (msg) => {
    const now = performance.now();
    const t = pollStart(msg);
    if (t === null) { if (now >= from && now < to) untracedWrites++; return; }
    writes.set(t, now - t);
  });
  // An operator request that outlives the run, so that every cycle writes a 1 kW setpoint.
  const now = Date.now();
  helper.getNode('edge-arbiter').receive({ payload: { level: 3, source: 'bench', powerW: 1000, ts: now, expiresAt: now + 3_600_000 } });
  await sleep(warmupMs);
  recorder.reqs = [];
  recorder.on = true;
  from = performance.now();
  await sleep(seconds * 1000);
  to = performance.now();
  recorder.on = false;
  await sleep(Math.max(500, 3 * cycleMs)); // let the last cycles finish
  await helper.unload();

  let skipped = 0;
  for (let i = 1; i < polls.length; i++) {
    const gap = (polls[i] ?? 0) - (polls[i - 1] ?? 0);
    if (gap > SKIP_FACTOR * cycleMs) skipped += Math.max(1, Math.round(gap / cycleMs) - 1);
  }
  const latencies: number[] = [];
  let overCycle = 0;
  for (const p of polls) {
    const l = writes.get(p);
    if (l === undefined || l > cycleMs) overCycle++;
    if (l !== undefined) latencies.push(l);
  }
  const perCycle: Req[][] = polls.map(() => []);
  let c = -1;
  for (const r of recorder.reqs) {
    while (c + 1 < polls.length && (polls[c + 1] ?? 0) <= r.at) c++;
    if (c >= 0) perCycle[c]?.push(r);
  }
  return { cycleMs, cycles: polls.length, overCycle, skipped, latencies, untracedWrites, perCycle, polls };
}

/**
 * Where a cycle's time goes, medians over the cycles (ms): the battery's reads (poll start to the
 * last read's answer), the flow (that answer to the setpoint write being queued: decoding, zod,
 * Node-RED's message passing, safety, arbiter), and the write (queued to acknowledged).
 */
function breakdown(run: LoopRun, polls: readonly number[]): { battery_reads: number; flow: number; write: number } {
  const parts = { reads: [] as number[], flow: [] as number[], write: [] as number[] };
  run.perCycle.forEach((reqs, i) => {
    const start = polls[i];
    const reads = reqs.filter((r) => r.kind === 'read' && r.unit === 1);
    const lastRead = reads[reads.length - 1]?.done;
    const w = reqs.find((r) => r.kind === 'write' && lastRead !== undefined && r.at >= lastRead);
    if (start === undefined || lastRead === undefined || !w || w.done === undefined) return;
    parts.reads.push(lastRead - start);
    parts.flow.push(w.at - lastRead);
    parts.write.push(w.done - w.at);
  });
  return { battery_reads: summary(parts.reads).p50, flow: summary(parts.flow).p50, write: summary(parts.write).p50 };
}

// ---------------------------------------------------------------- the floor: bare modbus-serial

/**
 * The cycle's requests one after another on a bare modbus-serial client. 'all': every read, then
 * the writes, latency to the last write's acknowledgement (the floor). 'critical': the
 * battery's (unit `batteryUnit`) reads, then the writes, latency to the last write's
 * acknowledgement, then the other reads (the floor of the loop's critical path).
 */
async function runFloor(modbusPort: number, perCycle: readonly Req[][], cycleMs: number, seconds: number, order: 'all' | 'critical', bus: Bus, batteryUnit = 1): Promise<{ latencies: number[]; missed: number }> {
  const client = new ModbusRTU();
  if (bus) await client.connectRTUBuffered(bus.path, { baudRate: bus.baudRate, parity: 'none', dataBits: 8, stopBits: 1 });
  else await client.connectTCP('127.0.0.1', { port: modbusPort });
  client.setTimeout(1000);
  const cycles = perCycle.filter((c) => c.length > 0).map((c) => {
    const reads = c.filter((r) => r.kind === 'read');
    const writes = c.filter((r) => r.kind === 'write');
    return order === 'all'
      ? { first: [...reads, ...writes], after: [] }
      : { first: [...reads.filter((r) => r.unit === batteryUnit), ...writes], after: reads.filter((r) => r.unit !== batteryUnit) };
  });
  if (cycles.length === 0) throw new Error('the loop made no requests to replay');
  const send = async (r: Req): Promise<void> => {
    client.setID(r.unit);
    if (r.kind === 'read') await client.readHoldingRegisters(r.address, r.count);
    else await client.writeRegisters(r.address, r.values ?? []);
  };
  const once = async (c: { first: Req[]; after: Req[] } | undefined): Promise<number> => {
    const t0 = performance.now();
    for (const r of c?.first ?? []) await send(r);
    const l = performance.now() - t0;
    for (const r of c?.after ?? []) await send(r);
    return l;
  };
  try {
    for (let i = 0; i < 10; i++) await once(cycles[i % cycles.length]);
    const latencies: number[] = [];
    let missed = 0;
    const start = performance.now();
    const n = Math.round((seconds * 1000) / cycleMs);
    for (let k = 0; k < n; k++) {
      const wait = start + k * cycleMs - performance.now();
      if (wait > 0) await sleep(wait);
      const l = await once(cycles[k % cycles.length]);
      latencies.push(l);
      if (l > cycleMs) missed++;
    }
    return { latencies, missed };
  } finally {
    await new Promise<void>((resolve) => client.close(() => resolve()));
  }
}

// ---------------------------------------------------------------- the bus floor on a real line

/**
 * The wire time of the cycle's requests on a real serial line at `line`'s baud rate, from the frame
 * sizes: per request (mean), per cycle (median) and on the critical path (the battery's reads and
 * the writes, median).
 */
function busFloor(perCycle: readonly Req[][], line: SerialLine, batteryUnit = 1): { per_request_ms: number; per_cycle_p50_ms: number; critical_p50_ms: number } {
  const wire = (r: Req): number => busTimeMs(line, r.kind === 'read' ? readFrameBytes(r.count) : writeFrameBytes(r.count));
  const all = perCycle.flat().map(wire);
  const cycles = perCycle.filter((c) => c.length > 0);
  return {
    per_request_ms: round(all.reduce((a, b) => a + b, 0) / (all.length || 1), 3),
    per_cycle_p50_ms: summary(cycles.map((c) => c.reduce((a, r) => a + wire(r), 0))).p50,
    critical_p50_ms: summary(cycles.map((c) => c.filter((r) => r.kind === 'write' || r.unit === batteryUnit).reduce((a, r) => a + wire(r), 0))).p50,
  };
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const opts = new Command()
    .option('--cycle-ms <ms>', 'control cycle', '100')
    .option('--seconds <s>', 'length of the main run (and of the floor)')
    .option('--min-seconds <s>', 'length of each step of the minimum-cycle search')
    .option('--warmup-seconds <s>', 'warm-up before each run')
    .option('--quick', 'a fast check: 10 s main run, 5 s steps')
    .option('--transport <kind>', 'tcp, or rtu: every unit on one RTU bus over a socat pty pair', 'tcp')
    .option('--baud <n>', 'baud rate of the RTU bus (8N1)', '115200')
    .parse(process.argv)
    .opts<{ cycleMs: string; seconds?: string; minSeconds?: string; warmupSeconds?: string; quick?: boolean; transport: string; baud: string }>();
  if (opts.transport !== 'tcp' && opts.transport !== 'rtu') throw new Error(`--transport must be tcp or rtu, not ${opts.transport}`);
  const baudRate = Number(opts.baud);
  if (!Number.isInteger(baudRate) || baudRate < 300) throw new Error('--baud must be an integer baud rate');
  const line: SerialLine = { baudRate, parity: 'none', dataBits: 8, stopBits: 1 };
  const cycleMs = Number(opts.cycleMs);
  const seconds = Number(opts.seconds ?? (opts.quick ? 10 : 60));
  const minSeconds = Number(opts.minSeconds ?? (opts.quick ? 5 : 20));
  const warmupMs = Number(opts.warmupSeconds ?? (opts.quick ? 2 : 3)) * 1000;
  if (![cycleMs, seconds, minSeconds, warmupMs].every((x) => Number.isFinite(x) && x > 0)) throw new Error('--cycle-ms, --seconds, --min-seconds and --warmup-seconds must be positive numbers');

  helper.init(require.resolve('node-red'));
  const pty: PtyPair | undefined = opts.transport === 'rtu' ? await startPtyPair() : undefined;
  const bus: Bus = pty ? { path: pty.controller, baudRate } : undefined;
  const sim = await startSimChild(pty ? ['--rtu', pty.device, '--rtu-baud', String(baudRate)] : []);
  try {
    const main = await runLoop(sim.modbusPort, cycleMs, seconds, warmupMs, bus);
    const lat = summary(main.latencies);
    const reqs = main.perCycle.flat();
    const floor = await runFloor(sim.modbusPort, main.perCycle, cycleMs, Math.max(20, seconds), 'all', bus);
    const fl = summary(floor.latencies);
    const critical = summary((await runFloor(sim.modbusPort, main.perCycle, cycleMs, Math.max(20, seconds), 'critical', bus)).latencies);

    const steps: { cycle_ms: number; cycles: number; missed: number; p50_ms: number; p99_ms: number; untraced_writes: number }[] = [];
    let minCycle: number | null = main.overCycle + main.skipped === 0 ? cycleMs : null;
    for (const c of MIN_CYCLE_STEPS.filter((s) => s < cycleMs)) {
      const run = await runLoop(sim.modbusPort, c, minSeconds, warmupMs, bus);
      const s = summary(run.latencies);
      const missed = run.overCycle + run.skipped;
      steps.push({ cycle_ms: c, cycles: run.cycles, missed, p50_ms: s.p50, p99_ms: s.p99, untraced_writes: run.untracedWrites });
      if (missed > 0) break;
      minCycle = c;
    }

    const n = main.perCycle.length || 1;
    console.log(JSON.stringify({
      bench: 'loop',
      node: process.version,
      transport: opts.transport,
      ...(bus ? { baud: baudRate, line: '8N1', bus_floor: busFloor(main.perCycle, line) } : {}),
      cycle_ms: cycleMs,
      seconds,
      cycles: main.cycles,
      missed: main.overCycle + main.skipped,
      missed_late: main.overCycle,
      missed_skipped: main.skipped,
      p50_ms: lat.p50,
      p99_ms: lat.p99,
      max_ms: lat.max,
      mean_ms: lat.mean,
      floor_p50_ms: fl.p50,
      floor_p99_ms: fl.p99,
      floor_max_ms: fl.max,
      floor_cycles: floor.latencies.length,
      floor_missed: floor.missed,
      ratio_p50: round(lat.p50 / fl.p50),
      ratio_p99: round(lat.p99 / fl.p99),
      floor_critical_p50_ms: critical.p50,
      floor_critical_p99_ms: critical.p99,
      ratio_critical_p99: round(lat.p99 / critical.p99),
      min_cycle_ms: minCycle,
      min_cycle_steps: steps,
      requests_per_cycle: round(reqs.length / n),
      reads_per_cycle: round(reqs.filter((r) => r.kind === 'read').length / n),
      writes_per_cycle: round(reqs.filter((r) => r.kind === 'write').length / n),
      untraced_writes: main.untracedWrites,
      breakdown_p50_ms: breakdown(main, main.polls),
      targets: { missed: 0, p99_ms: 20, ratio_p99: 1.25, min_cycle_ms: 20 },
    }));
  } finally {
    await sim.stop();
    await pty?.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
