// The release slots on the device, the A/B scheme of RAUC and Mender in folders instead of
// partitions: releases/<version> holds complete, verified releases only (extraction happens in
// releases/<version>.tmp and is renamed when fsynced), `current` and `previous` are symlinks swapped
// atomically (symlink beside, rename over), and state.json, written atomically, is the one truth
// the boot guard reconciles the links with after any crash. Persistent data (identity, keys,
// Node-RED credential secret, telemetry buffer) lives in data/, outside every release.
import { existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { DeploymentIdSchema, OtaNoticeSchema } from './messages';
import { VersionSchema } from './manifest';
import { fsyncPath, writeFileDurably } from '../../io/durable-file';

const Release = z.strictObject({ version: VersionSchema, sequence: z.number().int().min(1) });
export type ReleaseRef = z.infer<typeof Release>;

const Outcome = z.strictObject({
  phase: z.enum(['committed', 'rolled-back', 'refused', 'failed']),
  version: VersionSchema.optional(),
  reason: z.string().optional(),
  ts: z.number(),
});
export type DeploymentOutcome = z.infer<typeof Outcome>;

export const AgentStateSchema = z.strictObject({
  v: z.literal(1),
  /** The release known good: what the boot guard falls back to. */
  committed: Release.nullable(),
  /** The committed release before it (the `previous` link). */
  previous: Release.nullable(),
  /** A release switched to but not yet committed. */
  trial: Release.extend({ deploymentId: DeploymentIdSchema, attempts: z.number().int().min(0) }).nullable(),
  /** A notice being worked on (download .. install); resumed after a restart. */
  job: OtaNoticeSchema.nullable(),
  /** Final outcome per deployment id (the most recent 50), so a repeated notice is answered, not redone. */
  outcomes: z.record(z.string(), Outcome),
});
export type AgentState = z.infer<typeof AgentStateSchema>;

export const EMPTY_STATE: AgentState = { v: 1, committed: null, previous: null, trial: null, job: null, outcomes: {} };

export class ReleaseSlots {
  readonly releases: string;
  readonly downloads: string;
  readonly data: string;
  readonly statePath: string;

  /** `dataDir` puts the persistent data elsewhere than <root>/data (the all-in-one shares its data directory). */
  constructor(readonly root: string, dataDir?: string) {
    this.releases = join(root, 'releases');
    this.downloads = join(root, 'downloads');
    this.data = dataDir ?? join(root, 'data');
    this.statePath = join(root, 'state.json');
    for (const d of [root, this.releases, this.downloads, this.data]) mkdirSync(d, { recursive: true });
  }

  releaseDir(version: string): string {
    return join(this.releases, version);
  }

  hasRelease(version: string): boolean {
    return existsSync(join(this.releaseDir(version), 'flows.json'));
  }

  readState(): AgentState {
    if (!existsSync(this.statePath)) return structuredClone(EMPTY_STATE);
    // Written only by rename, so it is either the old or the new content, never a torn one.
    return AgentStateSchema.parse(JSON.parse(readFileSync(this.statePath, 'utf8')));
  }

  /** Writes state.json atomically and durably: temp file, fsync, rename, fsync of the folder. */
  writeState(state: AgentState): void {
    const keep = Object.entries(state.outcomes).sort((a, b) => b[1].ts - a[1].ts).slice(0, 50);
    const s = AgentStateSchema.parse({ ...state, outcomes: Object.fromEntries(keep) });
    writeFileDurably(this.statePath, `${JSON.stringify(s, null, 2)}\n`);
  }

  /** The release a link points at, or null. */
  link(name: 'current' | 'previous'): string | null {
    try {
      const target = readlinkSync(join(this.root, name));
      const m = /^releases\/([^/]+)$/.exec(target);
      return m ? m[1]! : null;
    } catch {
      return null;
    }
  }

  /** Points `name` at releases/<version> (or removes it) with one rename: never a moment without a link. */
  setLink(name: 'current' | 'previous', version: string | null): void {
    const path = join(this.root, name);
    if (version === null) {
      rmSync(path, { force: true });
    } else {
      const tmp = `${path}.new`;
      rmSync(tmp, { force: true });
      symlinkSync(`releases/${version}`, tmp);
      renameSync(tmp, path);
    }
    fsyncPath(this.root);
  }

  /**
   * The boot guard's reconciliation: drops half-extracted releases and leftovers of link swaps,
   * points `current` at the trial release (or the committed one) and `previous` at the one before,
   * and deletes releases nothing refers to any more.
   */
  reconcile(state: AgentState): void {
    for (const name of readdirSync(this.releases)) {
      if (name.endsWith('.tmp')) rmSync(join(this.releases, name), { recursive: true, force: true });
    }
    for (const name of ['current.new', 'previous.new', 'state.json.tmp']) rmSync(join(this.root, name), { force: true });
    const current = state.trial?.version ?? state.committed?.version ?? null;
    const previous = state.trial ? (state.committed?.version ?? null) : (state.previous?.version ?? null);
    if (this.link('current') !== current) this.setLink('current', current);
    if (this.link('previous') !== previous) this.setLink('previous', previous);
    const keep = new Set([current, previous, state.committed?.version, state.job?.version].filter((v): v is string => typeof v === 'string'));
    for (const name of readdirSync(this.releases)) {
      if (!keep.has(name)) rmSync(join(this.releases, name), { recursive: true, force: true });
    }
  }

  /** Removes a leftover release folder and its .tmp, e.g. before a fresh extraction. */
  clearRelease(version: string): void {
    rmSync(`${this.releaseDir(version)}.tmp`, { recursive: true, force: true });
  }
}

/** Removes a file when it exists. */
export function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
