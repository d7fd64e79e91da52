// The safety-limits e-stop latch on disk: <userDir>/lifo4/safety-latch/<siteId>.json, one file per
// site, so every node guarding that site (and one deleted and created again) finds the same latch,
// in stock Node-RED as under the lifo4 host. Written durably (io/durable-file); a file that is
// there but cannot be read or parsed is reported as such, and the keeper treats it as latched.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { EstopLatchSchema, type EstopLatch, type LatchRecord, type LatchStore } from '../../domain/safety/latch';
import { readJsonFile, siteFilePath, writeFileDurably } from '../durable-file';

const LatchFileSchema = EstopLatchSchema.extend({ v: z.literal(1), siteId: z.string(), savedAt: z.number() });

/** The latch file of a site; Node-RED's own default user directory when none is set (a bare test harness). */
export function latchFilePath(userDir: string | undefined, siteId: string): string {
  return siteFilePath(userDir, 'safety-latch', siteId, 'safety latch');
}

export function readLatchFile(path: string): LatchRecord {
  const r = readJsonFile(path, LatchFileSchema, 'a latch record');
  if (r.kind !== 'found') return r;
  const { latched, by, since } = r.data;
  return { kind: 'found', estop: latched ? { latched, by, since } : { latched: false, by: null, since: null } };
}

export function writeLatchFile(path: string, siteId: string, estop: EstopLatch, now = Date.now()): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileDurably(path, `${JSON.stringify({ v: 1, siteId, ...estop, savedAt: now })}\n`);
}

export function latchFileStore(userDir: string | undefined, siteId: string): LatchStore & { path: string } {
  const path = latchFilePath(userDir, siteId);
  return { path, read: () => readLatchFile(path), write: (estop) => writeLatchFile(path, siteId, estop) };
}
