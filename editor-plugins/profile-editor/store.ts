// Saved device profiles: one JSON file per profile under <userDir>/profiles/, named by the
// profile's file name. Names are restricted to [A-Za-z0-9_-] so a name can never leave the
// directory (no '.', '/' or '\'), and every profile is validated (parseProfile) before it is
// written and again when it is read back (a hand-edited file may be wrong).
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { parseProfile, type Profile } from '../../domain/sunspec/profile';

export const ProfileFileNameSchema = z.string()
  .min(1, 'a profile name is required')
  .max(64, 'at most 64 characters')
  .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only');

export class ProfileNotFoundError extends Error {
  override name = 'ProfileNotFoundError';
}

export interface SavedProfileSummary {
  file: string;
  name: string;
  kind: Profile['kind'];
  blocks: number;
}

export class ProfileStore {
  constructor(readonly dir: string) {}

  private path(file: string): string {
    return join(this.dir, `${ProfileFileNameSchema.parse(file)}.json`);
  }

  /** Every valid profile in the directory, by file name; files that do not parse are left out. */
  async list(): Promise<SavedProfileSummary[]> {
    let entries: string[];
    try {
      entries = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: SavedProfileSummary[] = [];
    for (const entry of entries.sort()) {
      const file = entry.replace(/\.json$/, '');
      if (entry === file || !ProfileFileNameSchema.safeParse(file).success) continue;
      try {
        const p = await this.load(file);
        out.push({ file, name: p.name, kind: p.kind, blocks: p.blocks.length });
      } catch {
        // Not a profile (or hand-edited into one that does not parse): GET /:name says why.
      }
    }
    return out;
  }

  /** Throws ProfileNotFoundError, or ProfileError when the stored file does not parse. */
  async load(file: string): Promise<Profile> {
    let text: string;
    try {
      text = await readFile(this.path(file), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ProfileNotFoundError(`no profile ${file}`);
      throw err;
    }
    return parseProfile(text);
  }

  /** Validates, then writes atomically (temp file + rename): a reader never sees half a file. */
  async save(file: string, input: unknown): Promise<Profile> {
    const target = this.path(file);
    const profile = parseProfile(input);
    await mkdir(this.dir, { recursive: true });
    const tmp = `${target}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify(profile, null, 2)}\n`, 'utf8');
    await rename(tmp, target);
    return profile;
  }
}
