// The payload archive: a gzip'd tar written deterministically (same tree in, same bytes out, so the
// same inputs give the same payload hash: entries sorted, fixed mtime, no uid/gid/user names, modes
// normalised to 0755/0644), and read back defensively: every entry is checked BEFORE anything is
// written, and only plain files and folders inside the target folder are accepted. Links and
// `../` or absolute paths are the classic "tar slip" (CVE-2018-20834 in node-tar itself, Snyk's
// Zip Slip list); refusing the whole archive is simpler to reason about than skipping entries.
import { lstatSync, readdirSync, chmodSync } from 'node:fs';
import { fsyncPath } from '../../io/durable-file';
import { isAbsolute, join, posix } from 'node:path';
import { create, extract, list } from 'tar';
import { BundleError } from './manifest';

/** The mtime every entry carries (a fixed instant: the build time must not change the bytes). */
export const ARCHIVE_MTIME = new Date(Date.UTC(2000, 0, 1));

/** Relative paths of every folder and file under root, folders before their contents, sorted by code unit. */
export function treeEntries(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const names = readdirSync(rel ? join(root, rel) : root).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const name of names) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(root, r));
      if (st.isSymbolicLink()) throw new Error(`${r} is a symbolic link: bundles carry no links (copy with dereference)`);
      if (st.isDirectory()) {
        out.push(`${r}/`);
        walk(r);
      } else if (st.isFile()) out.push(r);
      else throw new Error(`${r} is neither a file nor a folder`);
    }
  };
  walk('');
  return out;
}

/** Gives every folder 0755 and every file 0644, or 0755 when any execute bit was set. */
export function normaliseModes(root: string, entries: readonly string[]): void {
  for (const e of entries) {
    const p = join(root, e);
    const mode = lstatSync(p).mode;
    chmodSync(p, e.endsWith('/') || (mode & 0o111) !== 0 ? 0o755 : 0o644);
  }
}

/** Writes root's tree as a deterministic .tar.gz at file. */
export async function writeDeterministicArchive(root: string, file: string): Promise<void> {
  const entries = treeEntries(root);
  normaliseModes(root, entries);
  await create({ file, cwd: root, gzip: { level: 9 }, portable: true, mtime: ARCHIVE_MTIME, noDirRecurse: true, strict: true }, entries);
}

const ACCEPTED_TYPES = new Set(['File', 'OldFile', 'Directory']);

/** Why an entry path is unsafe, or null when it stays inside the target folder. */
export function unsafePath(path: string): string | null {
  if (path.length === 0) return 'an empty path';
  if (path.includes('\0')) return 'a NUL byte';
  if (path.includes('\\')) return 'a backslash';
  if (isAbsolute(path) || posix.isAbsolute(path) || /^[A-Za-z]:/.test(path)) return 'an absolute path';
  const segments = path.replace(/\/+$/, '').split('/');
  if (segments.some((s) => s === '..')) return 'a ../ segment';
  if (segments.some((s) => s === '')) return 'an empty segment';
  return null;
}

export interface ArchiveScan {
  files: number;
  bytes: number;
  /** Contents of the entries asked for (e.g. flows.json), by path. */
  contents: Map<string, Buffer>;
}

/**
 * Reads every entry header of the archive and refuses the archive (BundleError 'unsafe-entry')
 * at the first link, device, FIFO or path that leaves the folder; 'archive-invalid' when it is not
 * a readable tar.gz. Collects the bodies of `capture` paths.
 */
export async function scanArchive(file: string, capture: readonly string[] = []): Promise<ArchiveScan> {
  const scan: ArchiveScan = { files: 0, bytes: 0, contents: new Map() };
  let refusal: BundleError | null = null;
  try {
    await list({
      file,
      strict: true,
      onReadEntry: (entry) => {
        if (refusal) return void entry.resume();
        const why = !ACCEPTED_TYPES.has(entry.type) ? `a ${entry.type} entry` : unsafePath(entry.path);
        if (why) {
          refusal = new BundleError('unsafe-entry', `archive entry '${entry.path}' is ${why}; nothing was extracted`);
          return void entry.resume();
        }
        if (entry.type !== 'Directory') {
          scan.files++;
          scan.bytes += entry.size;
        }
        const name = entry.path.replace(/^\.\//, '');
        if (capture.includes(name)) {
          const chunks: Buffer[] = [];
          entry.on('data', (c: Buffer) => chunks.push(c));
          entry.on('end', () => scan.contents.set(name, Buffer.concat(chunks)));
        } else entry.resume();
      },
    });
  } catch (err) {
    throw new BundleError('archive-invalid', `payload is not a readable tar.gz (${(err as Error).message})`);
  }
  if (refusal) throw refusal;
  return scan;
}

/** fsyncs every file and folder under root, deepest first, then root itself. */
export function fsyncTree(root: string): void {
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      const st = lstatSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) fsyncPath(p);
    }
    fsyncPath(dir);
  };
  walk(root);
}

/**
 * Extracts an archive into an existing empty folder after scanning it; the filter repeats the
 * scan's rule so a file changed between scan and extraction still cannot place a link.
 */
export async function safeExtract(file: string, into: string): Promise<void> {
  await scanArchive(file);
  let refused: string | null = null;
  await extract({
    file,
    cwd: into,
    strict: true,
    preservePaths: false,
    preserveOwner: false,
    filter: (path, entry) => {
      const type = 'type' in entry ? entry.type : 'File';
      const ok = ACCEPTED_TYPES.has(type) && unsafePath(path) === null;
      if (!ok) refused ??= path;
      return ok;
    },
  });
  if (refused !== null) throw new BundleError('unsafe-entry', `archive entry '${refused}' changed after the scan`);
  fsyncTree(into);
}
