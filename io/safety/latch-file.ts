// The safety-limits e-stop latch on disk: <userDir>/lifo4/safety-latch/<siteId>.json, one file per
// site, so every node guarding that site (and one deleted and created again) finds the same latch,
// in stock Node-RED as under the lifo4 host. Written durably (io/durable-file); a file that is
// there but cannot be read or parsed is reported as such, and the keeper treats it as latched.
import { mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { EstopLatchSchema, type EstopLatch, type LatchRecord, type LatchStore } from '../../domain/safety/latch';
import { writeFileDurably } from '../durable-file';

const SITE_ID = /^[A-Za-z0-9_-]{1,64}$/;

const LatchFileSchema = EstopLatchSchema.extend({ v: z.literal(1), siteId: z.string(), savedAt: z.number() });

/** The latch file of a site; Node-RED's own default user directory when none is set (a bare test harness). */
export function latchFilePath(userDir: string | undefined, siteId: string): string {
  if (!SITE_ID.test(siteId)) throw new Error(`safety latch: site id ${JSON.stringify(siteId)} is not a file name (letters, digits, _ and -)`);
  return join(userDir ?? join(homedir(), '.node-red'), 'lifo4', 'safety-latch', `${siteId}.json`);
}

export function readLatchFile(path: string): LatchRecord {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'absent' };
    return { kind: 'unreadable', reason: `${path}: ${(err as Error).message}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { kind: 'unreadable', reason: `${path}: not JSON (${(err as Error).message})` };
  }
  const parsed = LatchFileSchema.safeParse(json);
  if (!parsed.success) return { kind: 'unreadable', reason: `${path}: not a latch record` };
  const { latched, by, since } = parsed.data;
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
