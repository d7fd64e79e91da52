// Writing a small file so that a crash or power cut leaves either the old or the new content,
// and the new content on disk once the call returns: temp file, fsync, rename, fsync of the folder.
// For state that must survive a restart (the OTA agent's state, the safety-limits e-stop latch)
// and for files another process may read at any moment (model files, the load history).
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

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
