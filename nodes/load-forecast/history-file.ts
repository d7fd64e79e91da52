// The load-forecast node's history on disk: <dir>/<siteId>.json, by default under Node-RED's user
// directory (<dataDir>/edge for `lifo4 edge`), so a restart or redeploy keeps the 14 days the
// forecast needs instead of starting over. Written whole-or-not-at-all (temp file + rename).
import { mkdirSync, readFileSync } from 'node:fs';
import { writeFileDurably } from '../../io/durable-file';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describeIssues } from '../../domain/contracts';
import { LoadHistoryFileSchema, type LoadHistoryFile } from '../../domain/forecast/load-history';

/** null = keep the history in memory only: no folder given and no user dir (a bare test harness). */
export function historyFilePath(dir: string, userDir: string | undefined, siteId: string): string | null {
  if (!dir && !userDir) return null;
  const base = dir ? resolve(userDir ?? homedir(), dir) : join(userDir!, 'load-history');
  return join(base, `${siteId}.json`);
}

/** The stored history, null when there is none yet; throws on a file that is not one. */
export function readHistoryFile(path: string): LoadHistoryFile | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const parsed = LoadHistoryFileSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`${path} is not a load history: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

export function writeHistoryFile(path: string, file: LoadHistoryFile): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileDurably(path, JSON.stringify(file), 0o644);
}
