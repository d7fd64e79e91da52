// The edge agent: the small process beside the runtime that takes OTA notices, installs signed
// bundles into release slots, starts the runtime of `current`, judges a new release during its
// health window and commits it or rolls back (README, "Updates over the air"). Its rules, learned
// from Mender and RAUC: state.json is the one truth and is only ever replaced whole; `current`
// points at a complete, verified release at every instant; the boot guard reconciles both whenever
// the agent starts and counts start attempts of an uncommitted release, so a release that takes the
// device down with it (power loss, kernel panic, a hang the window never ends) is rolled back too.
import { EventEmitter } from 'node:events';
import type { KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { topics } from '../../domain/topics';
import { CONFIG_ERROR_EXIT } from '../../settings';
import { describeExit, NodeChild, terminate, type ChildExit } from '../process/child';
import { sha256File, verifyBundle, verifyPayload } from './bundle';
import { downloadResumable, fetchSmall } from './download';
import { BundleError, MANIFEST_FILE, PAYLOAD_FILE, RELEASE_MANIFEST, SIGNATURE_FILE, parseManifest, type Manifest } from './manifest';

export { RELEASE_MANIFEST };
import { OtaNoticeSchema, otaStatusTopic, type OtaNotice, type OtaStatus } from './messages';
import { fsyncTree, safeExtract } from './payload-archive';
import { ReleaseSlots, type AgentState, type DeploymentOutcome } from './release-slots';
import { fsyncPath } from '../../io/durable-file';
import { RuntimeHealthSchema, unhealthyBecause, type RuntimeHealth } from './runtime-health';
import { manifestSignatureValid } from './signing-key';

export const RUNTIME_PID_FILE = 'runtime.pid';
/** A runtime asked to stop with SIGTERM is SIGKILLed after this, ms. */
const RUNTIME_KILL_AFTER_MS = 5000;

/** Steps at which `killAt` SIGKILLs the agent itself: the crash-consistency tests walk them all. */
export const AGENT_STEPS = [
  'notice-persisted', 'downloading', 'downloaded', 'verified', 'extracted-tmp', 'renamed',
  'trial-written', 'links-switched', 'runtime-started', 'health-judged', 'committed',
  'rollback-written',
] as const;
export type AgentStep = (typeof AGENT_STEPS)[number];

export interface AgentMqttOptions {
  url: string;
  options?: IClientOptions;
}

export interface EdgeAgentOptions {
  /** The agent's folder: releases/, downloads/, data/, current, previous, state.json. */
  dir: string;
  siteId: string;
  /** The fleet's Ed25519 public key, received at provisioning. */
  fleetKey: KeyObject;
  /** Where notices come from and reports go; null runs without MQTT (tests, `--install`). */
  mqtt: AgentMqttOptions | null;
  /** Health window of a new release, ms (default 5 min). */
  healthWindowMs?: number;
  /** Start attempts of an uncommitted release before the boot guard rolls it back (default 3). */
  maxStartAttempts?: number;
  /** A device poll older than this is not fresh, ms. */
  pollFreshMs?: number;
  /** Delay before a committed runtime that exited is started again, ms (default 1000). */
  restartDelayMs?: number;
  /** Download attempts per notice before it fails (default 5), resuming each time. */
  downloadAttempts?: number;
  /** CA to trust for https bundle URLs. */
  downloadCa?: string | Buffer;
  /** Extra environment of the runtime. */
  env?: NodeJS.ProcessEnv;
  /** Persistent data folder given to the runtime (default <dir>/data). */
  dataDir?: string;
  /** IPC messages of the runtime other than its health reports (e.g. its ready message, for a supervisor). */
  onRuntimeMessage?: (message: unknown) => void;
  /** Fault injection for the crash tests: SIGKILL this process at the step. */
  killAt?: AgentStep | null;
  log?: (line: string) => void;
}

interface Running {
  child: NodeChild;
  version: string;
  trial: boolean;
  expectedExit: boolean;
}

export class EdgeAgent extends EventEmitter {
  readonly slots: ReleaseSlots;
  private readonly o: Required<Omit<EdgeAgentOptions, 'downloadCa' | 'killAt' | 'env' | 'mqtt' | 'dataDir' | 'onRuntimeMessage'>> & EdgeAgentOptions;
  private mqtt: MqttClient | null = null;
  private runtime: Running | null = null;
  private lastHealth: { at: number; health: RuntimeHealth } | null = null;
  private windowTimer: NodeJS.Timeout | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  private working: Promise<void> | null = null;
  private queued: OtaNotice | null = null;
  private stopped = false;

  constructor(opts: EdgeAgentOptions) {
    super();
    this.o = {
      healthWindowMs: 5 * 60_000, maxStartAttempts: 3, pollFreshMs: 10_000, restartDelayMs: 1000, downloadAttempts: 5,
      log: (line: string) => console.log(line), ...opts,
    };
    this.slots = new ReleaseSlots(opts.dir, opts.dataDir);
  }

  state(): AgentState {
    return this.slots.readState();
  }

  /** The version `current` points at. */
  running(): string | null {
    return this.slots.link('current');
  }

  // ------------------------------------------------------------------ start, boot guard, stop

  async start(): Promise<void> {
    await this.killOrphanRuntime();
    const state = this.slots.readState();
    // Boot guard: an uncommitted release that was started too often without being judged healthy
    // took the device (or this agent) down with it each time: back to the committed one.
    if (state.trial && state.trial.attempts >= this.o.maxStartAttempts) {
      const t = state.trial;
      this.finishTrial(state, 'rolled-back', `${t.attempts} start attempts without passing the health check`);
    } else {
      this.slots.reconcile(state);
    }
    if (this.o.mqtt) this.connectMqtt(this.o.mqtt);
    this.startCurrent();
    const job = this.slots.readState().job;
    if (job) this.enqueue(job);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.windowTimer) clearTimeout(this.windowTimer);
    if (this.restartTimer) clearTimeout(this.restartTimer);
    await this.stopRuntime();
    const client = this.mqtt;
    this.mqtt = null;
    if (client) await client.endAsync();
  }

  /**
   * Connects to the broker again with changed options (a renewed client certificate): mqtt.js keeps
   * the options it connected with for every reconnect.
   */
  async reconnectMqtt(options: IClientOptions): Promise<void> {
    const m = this.o.mqtt;
    if (!m || this.stopped) return;
    this.o.mqtt = { url: m.url, options: { ...m.options, ...options } };
    const client = this.mqtt;
    this.mqtt = null;
    if (client) await client.endAsync();
    if (!this.stopped) this.connectMqtt(this.o.mqtt);
  }

  /** Settles when the current job (if any) and every queued one are done. */
  async idle(): Promise<void> {
    while (this.working) await this.working;
  }

  private fault(step: AgentStep): void {
    if (this.o.killAt === step) {
      this.o.log(`ota: fault injection: SIGKILL at ${step}`);
      process.kill(process.pid, 'SIGKILL');
    }
  }

  /** A runtime left behind by an agent that was killed: stopped, since the boot guard starts it anew. */
  private async killOrphanRuntime(): Promise<void> {
    const pidFile = join(this.o.dir, RUNTIME_PID_FILE);
    if (!existsSync(pidFile)) return;
    const pid = Number(readFileSync(pidFile, 'utf8').split(' ')[0]);
    rmSync(pidFile, { force: true });
    if (!Number.isInteger(pid) || pid <= 1) return;
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      return; // gone
    }
    // Only a process started from this agent's releases, never a recycled pid of someone else.
    if (!cmdline.includes(this.slots.releases)) return;
    await terminate(pid, RUNTIME_KILL_AFTER_MS);
  }

  /**
   * The factory install: a device with no release yet takes a bundle from a local folder (the
   * image it was delivered with; the all-in-one's default flows) through the same checks as an
   * update, and commits it at once, since there is nothing to roll back to. Returns false when a
   * release is already installed (the bundle is then ignored). Call before start().
   */
  async installLocal(bundleDir: string): Promise<boolean> {
    const st = this.slots.readState();
    if (st.committed || st.trial) return false;
    const manifest = await verifyBundle(bundleDir, this.o.fleetKey, { platform: { arch: process.arch, node: process.versions.node.split('.')[0]! } });
    await this.install(manifest, join(bundleDir, PAYLOAD_FILE));
    st.committed = { version: manifest.version, sequence: manifest.sequence };
    this.slots.writeState(st);
    this.slots.reconcile(st);
    this.o.log(`ota: installed ${manifest.version} (sequence ${manifest.sequence}) from ${bundleDir}`);
    return true;
  }

  // ------------------------------------------------------------------ MQTT

  private connectMqtt(m: AgentMqttOptions): void {
    const client = connect(m.url, {
      clientId: `${this.o.siteId}:ota-agent`, // bound to the site by the broker (runtime/broker/acl.ts)
      clean: false,
      reconnectPeriod: 1000,
      ...m.options,
    });
    this.mqtt = client;
    client.on('connect', () => {
      client.subscribe(topics.ota(this.o.siteId), { qos: 1 }, (err) => {
        if (err) this.o.log(`ota: subscribe failed: ${err.message}`);
      });
      // Catching up after being offline: the running release and the recent final outcomes.
      const st = this.slots.readState();
      this.report({ phase: 'running' });
      for (const [id, out] of Object.entries(st.outcomes).sort((a, b) => a[1].ts - b[1].ts).slice(-10)) {
        this.report({ deploymentId: id, phase: out.phase, ...(out.version ? { version: out.version } : {}), ...(out.reason ? { reason: out.reason } : {}) });
      }
    });
    client.on('error', (err) => this.o.log(`ota: mqtt: ${err.message}`));
    client.on('message', (topic, payload) => {
      if (topic !== topics.ota(this.o.siteId)) return;
      let raw: unknown;
      try {
        raw = JSON.parse(payload.toString('utf8'));
      } catch {
        return void this.o.log('ota: notice is not JSON, dropped');
      }
      const r = OtaNoticeSchema.safeParse(raw);
      if (!r.success || r.data.siteId !== this.o.siteId) return void this.o.log('ota: invalid notice dropped');
      this.acceptNotice(r.data);
    });
  }

  /**
   * Takes a notice. Persisted synchronously, before mqtt.js acknowledges the PUBLISH, so a crash
   * right after the PUBACK still finds the job in state.json.
   */
  acceptNotice(n: OtaNotice): void {
    const st = this.slots.readState();
    const done = st.outcomes[n.deploymentId];
    if (done) {
      // Idempotent by deployment id: answer with what happened, do nothing again.
      this.report({ deploymentId: n.deploymentId, phase: done.phase, ...(done.version ? { version: done.version } : {}), ...(done.reason ? { reason: done.reason } : {}) });
      return;
    }
    if (st.job?.deploymentId === n.deploymentId || st.trial?.deploymentId === n.deploymentId) return;
    if (!st.job) {
      st.job = n;
      this.slots.writeState(st);
      this.fault('notice-persisted');
      this.report({ deploymentId: n.deploymentId, version: n.version, phase: 'received' });
    }
    this.enqueue(n);
  }

  private enqueue(n: OtaNotice): void {
    if (this.working) {
      if (this.slots.readState().job?.deploymentId !== n.deploymentId) this.queued = n;
      return;
    }
    this.working = (async () => {
      let next: OtaNotice | null = n;
      while (next && !this.stopped) {
        const st = this.slots.readState();
        if (!st.job) {
          st.job = next;
          this.slots.writeState(st);
        }
        await this.runJob(st.job ?? next);
        next = this.queued;
        this.queued = null;
      }
    })().finally(() => {
      this.working = null;
    });
  }

  private report(r: Omit<OtaStatus, 'v' | 'siteId' | 'ts' | 'running'>): void {
    const status: OtaStatus = { v: 1, siteId: this.o.siteId, ts: Date.now(), running: this.slots.link('current'), ...r };
    this.o.log(`ota: ${JSON.stringify(status)}`);
    this.emit('status', status);
    this.mqtt?.publish(otaStatusTopic(this.o.siteId), JSON.stringify(status), { qos: 1 }, (err) => {
      if (err && !this.stopped) this.o.log(`ota: report not sent: ${err.message}`);
    });
  }

  // ------------------------------------------------------------------ an update

  private runningSequence(st: AgentState): number {
    return Math.max(st.committed?.sequence ?? 0, st.trial?.sequence ?? 0);
  }

  private async runJob(n: OtaNotice): Promise<void> {
    const id = n.deploymentId;
    const dl = join(this.slots.downloads, id);
    try {
      let st = this.slots.readState();
      if (st.trial) {
        // One release on trial at a time: this notice waits for the verdict.
        await new Promise<void>((resolve) => this.once('verdict', () => resolve()));
        st = this.slots.readState();
      }
      if (n.sequence <= this.runningSequence(st)) throw new BundleError('downgrade', `notice sequence ${n.sequence} is not above the running ${this.runningSequence(st)}`);
      this.report({ deploymentId: id, version: n.version, phase: 'downloading' });
      mkdirSync(dl, { recursive: true });
      const base = n.url.replace(/\/+$/, '');
      const fetchOpts = this.o.downloadCa !== undefined ? { ca: this.o.downloadCa } : {};
      const manifestBytes = await this.retry(() => fetchSmall(`${base}/${MANIFEST_FILE}`, { maxBytes: 64 * 1024, ...fetchOpts }));
      const sig = await this.retry(() => fetchSmall(`${base}/${SIGNATURE_FILE}`, { maxBytes: 1024, ...fetchOpts }));
      if (!manifestSignatureValid(manifestBytes, sig, this.o.fleetKey)) throw new BundleError('signature-invalid', 'manifest.sig is not a valid signature by the fleet key');
      const manifest = parseManifest(manifestBytes);
      if (manifest.version !== n.version || manifest.sequence !== n.sequence) {
        throw new BundleError('manifest-invalid', `the signed manifest says ${manifest.version} #${manifest.sequence}, the notice ${n.version} #${n.sequence}`);
      }
      const payload = join(dl, PAYLOAD_FILE);
      let hash: string;
      if (existsSync(payload)) hash = await sha256File(payload);
      else {
        let halfway = false;
        const r = await this.retry(() =>
          downloadResumable(`${base}/${PAYLOAD_FILE}`, payload, {
            ...fetchOpts,
            maxBytes: manifest.payload.bytes,
            onProgress: (got) => {
              if (!halfway && got >= manifest.payload.bytes / 2) {
                halfway = true;
                this.fault('downloading');
              }
            },
          }),
        );
        hash = r.sha256;
      }
      this.fault('downloaded');
      await verifyPayload(manifest, payload, hash, {
        minSequence: this.runningSequence(this.slots.readState()),
        platform: { arch: process.arch, node: process.versions.node.split('.')[0]! },
      });
      this.report({ deploymentId: id, version: n.version, phase: 'verified' });
      this.fault('verified');
      await this.install(manifest, payload);
      this.report({ deploymentId: id, version: n.version, phase: 'installed' });
      rmSync(dl, { recursive: true, force: true });

      // Switch: state first, then the links follow it (the boot guard would do the same).
      st = this.slots.readState();
      st.trial = { version: manifest.version, sequence: manifest.sequence, deploymentId: id, attempts: 0 };
      st.job = null;
      this.slots.writeState(st);
      this.fault('trial-written');
      this.report({ deploymentId: id, version: n.version, phase: 'switching' });
      await this.stopRuntime();
      this.slots.reconcile(st);
      this.fault('links-switched');
      this.startCurrent();
      await new Promise<void>((resolve) => this.once('verdict', () => resolve()));
    } catch (err) {
      const refused = err instanceof BundleError;
      const reason = err instanceof Error ? err.message : String(err);
      const st = this.slots.readState();
      st.job = null;
      st.outcomes[id] = { phase: refused ? 'refused' : 'failed', version: n.version, reason: reason.slice(0, 500), ts: Date.now() };
      this.slots.writeState(st);
      // A refused bundle is garbage; a failed download keeps nothing either, the notice is final.
      rmSync(dl, { recursive: true, force: true });
      this.report({ deploymentId: id, version: n.version, phase: refused ? 'refused' : 'failed', reason: reason.slice(0, 500) });
    }
  }

  /** Extracts into releases/<version>.tmp, fsyncs, renames; an existing release folder is complete by construction. */
  private async install(manifest: Manifest, payload: string): Promise<void> {
    const dir = this.slots.releaseDir(manifest.version);
    if (existsSync(join(dir, RELEASE_MANIFEST))) return;
    rmSync(dir, { recursive: true, force: true });
    const tmp = `${dir}.tmp`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp);
    await safeExtract(payload, tmp);
    writeFileSync(join(tmp, RELEASE_MANIFEST), JSON.stringify(manifest, null, 2));
    fsyncTree(tmp);
    this.fault('extracted-tmp');
    renameSync(tmp, dir);
    fsyncPath(this.slots.releases);
    this.fault('renamed');
  }

  private async retry<T>(f: () => Promise<T>): Promise<T> {
    let last: unknown;
    for (let i = 0; i < this.o.downloadAttempts; i++) {
      try {
        return await f();
      } catch (err) {
        last = err;
        if (this.stopped) break;
        await new Promise((r) => setTimeout(r, Math.min(30_000, 500 * 2 ** i)));
      }
    }
    throw last instanceof Error ? last : new Error(String(last));
  }

  // ------------------------------------------------------------------ the runtime

  private releaseManifest(version: string): Manifest {
    return parseManifest(readFileSync(join(this.slots.releaseDir(version), RELEASE_MANIFEST)));
  }

  /** Starts the runtime of `current`; for a trial release counts the attempt and opens the health window. */
  private startCurrent(): void {
    if (this.stopped) return;
    const st = this.slots.readState();
    const version = st.trial?.version ?? st.committed?.version ?? null;
    if (version === null) return;
    const trial = st.trial !== null;
    if (st.trial) {
      st.trial.attempts++;
      this.slots.writeState(st);
    }
    const release = this.slots.releaseDir(version);
    const args = this.releaseManifest(version).entry.map((a) => a.replaceAll('{release}', release).replaceAll('{data}', this.slots.data));
    if (!isAbsolute(args[0]!)) args[0] = join(release, args[0]!);
    const child = new NodeChild({
      args,
      cwd: release,
      output: 'inherit',
      env: { ...process.env, ...this.o.env, LIFO4_DATA_DIR: this.slots.data, LIFO4_RELEASE: version, LIFO4_SITE_ID: this.o.siteId },
      onMessage: (m) => {
        const h = RuntimeHealthSchema.safeParse(m);
        if (h.success) {
          if (this.runtime === running) this.lastHealth = { at: Date.now(), health: h.data };
        } else this.o.onRuntimeMessage?.(m);
      },
      onError: (err) => this.o.log(`ota: runtime ${version}: ${err.message}`),
      onExit: (exit) => this.onRuntimeExit(running, exit),
    });
    const running: Running = { child, version, trial, expectedExit: false };
    this.runtime = running;
    if (child.pid !== undefined) writeFileSync(join(this.o.dir, RUNTIME_PID_FILE), `${child.pid} ${version}\n`);
    this.lastHealth = null;
    const windowStart = Date.now();
    if (trial) {
      this.fault('runtime-started');
      this.report({ deploymentId: st.trial!.deploymentId, version, phase: 'health-check' });
      this.windowTimer = setTimeout(() => {
        this.windowTimer = null;
        const h = this.lastHealth;
        // A report from the second half of the window: a runtime that hangs sends none.
        const fresh = h !== null && h.at >= windowStart + this.o.healthWindowMs / 2;
        const why = !fresh ? 'no health report in the second half of the window (runtime hung or silent)' : unhealthyBecause(h.health, this.o.pollFreshMs);
        this.judge(why);
      }, this.o.healthWindowMs);
    }
  }

  /** A runtime exited that was not stopped on purpose: a failed trial, a configuration error, or a crash to restart after. */
  private onRuntimeExit(running: Running, exit: ChildExit): void {
    if (this.runtime === running) this.runtime = null;
    if (running.expectedExit || this.stopped) return;
    const { version } = running;
    const how = describeExit(exit);
    if (running.trial && this.slots.readState().trial) return void this.judge(`runtime exited with ${how} during the health window`);
    if (exit.code === CONFIG_ERROR_EXIT) {
      // The device's settings are wrong, not the release: a restart would fail the same way.
      this.o.log(`ota: runtime ${version} stopped on a configuration error (exit ${CONFIG_ERROR_EXIT}); not restarting it`);
      return void this.emit('runtime-config-error', version);
    }
    this.o.log(`ota: runtime ${version} exited with ${how}; restarting`);
    this.restartTimer = setTimeout(() => this.startCurrent(), this.o.restartDelayMs);
  }

  /** The verdict on the trial release: null = healthy. */
  private judge(unhealthy: string | null): void {
    if (this.windowTimer) clearTimeout(this.windowTimer);
    this.windowTimer = null;
    if (this.stopped) return;
    const st = this.slots.readState();
    if (!st.trial) return;
    this.fault('health-judged');
    void (async () => {
      if (unhealthy === null) {
        if (this.runtime) this.runtime.trial = false;
        this.finishTrial(st, 'committed');
        this.fault('committed');
      } else {
        await this.stopRuntime();
        this.finishTrial(st, 'rolled-back', unhealthy);
        this.startCurrent();
      }
      this.emit('verdict');
    })();
  }

  /** Commits or rolls back the trial release in state.json, then the links follow. */
  private finishTrial(st: AgentState, phase: 'committed' | 'rolled-back', reason?: string): void {
    const t = st.trial!;
    const outcome: DeploymentOutcome = { phase, version: t.version, ts: Date.now(), ...(reason ? { reason: reason.slice(0, 500) } : {}) };
    if (phase === 'committed') {
      st.previous = st.committed;
      st.committed = { version: t.version, sequence: t.sequence };
    }
    st.trial = null;
    st.outcomes[t.deploymentId] = outcome;
    this.slots.writeState(st);
    if (phase === 'rolled-back') this.fault('rollback-written');
    this.slots.reconcile(st);
    this.report({ deploymentId: t.deploymentId, version: t.version, phase, ...(reason ? { reason: reason.slice(0, 500) } : {}) });
  }

  private async stopRuntime(): Promise<void> {
    const r = this.runtime;
    if (!r) return;
    r.expectedExit = true;
    this.runtime = null;
    await r.child.stop(RUNTIME_KILL_AFTER_MS);
    rmSync(join(this.o.dir, RUNTIME_PID_FILE), { force: true });
  }
}
