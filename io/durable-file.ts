// Writing a small file so that a crash or power cut leaves either the old or the new content,
// and the new content on disk once the call returns: temp file, fsync, rename, fsync of the folder.
// For state that must survive a restart (the OTA agent's state, the safety-limits e-stop latch,
// the site's strategy settings) and for files another process may read at any moment (model files,
// the load history). Also how such a JSON file of a site is named and read back.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { z } from 'zod';

const SITE_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * A site's file of `folder` under the Node-RED user directory (<userDir>/lifo4/<folder>/<siteId>.json),
 * Node-RED's own default user directory when none is set (a bare test harness). `what` names it in errors.
 */
export function siteFilePath(userDir: string | undefined, folder: string, siteId: string, what: string): string {
  if (!SITE_ID.test(siteId)) throw new Error(`${what}: site id ${JSON.stringify(siteId)} is not a file name (letters, digits, _ and -)`);
  return join(userDir ?? join(homedir(), '.node-red'), 'lifo4', folder, `${siteId}.json`);
}

/** A JSON file read back: not there, there and valid, or there but unreadable (and why). */
export type JsonFileRead<T> = { kind: 'absent' } | { kind: 'found'; data: T } | { kind: 'unreadable'; reason: string };

/** Reads `path` as JSON checked by `schema`; `what` names the record in the reason ("a latch record"). */
export function readJsonFile<T>(path: string, schema: z.ZodType<T>, what: string): JsonFileRead<T> {
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
  const parsed = schema.safeParse(json);
  return parsed.success ? { kind: 'found', data: parsed.data } : { kind: 'unreadable', reason: `${path}: not ${what}` };
}

/** fsyncs a file or a folder (a folder: the names in it, e.g. after a rename). */
export function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Replaces `path` with `data` durably; the folder must exist. Throws when any step fails. */
export function writeFileDurably(path: string, data: string | Uint8Array, mode = 0o600): void {
  const dir = dirname(path);
  const tmp = `${path}.tmp`;
  try {
    const fd = openSync(tmp, 'w', mode);
    try {
      writeFileSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  fsyncPath(dir);
}
