// The device profile library shipped with the package (profiles/*.json, each from the vendor's
// public register documentation, cited in its "source"): read by the profile editor, which lists
// them, and by the simulator, which presents a family of them over Modbus.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseProfile, type Profile } from '../domain/sunspec/profile';
import { packageRoot } from './package-root';

export interface LibraryProfile {
  /** The file name without .json, e.g. victron-gx-pcs. */
  id: string;
  profile: Profile;
  /** The file's text as shipped, for the editor to put into a device node. */
  text: string;
}

export const PROFILE_DIR = join(packageRoot, 'profiles');

/** Every profile of the library, in file name order; a profile that does not parse throws, naming its file. */
export function profileLibrary(dir = PROFILE_DIR): LibraryProfile[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => {
      const text = readFileSync(join(dir, file), 'utf8');
      try {
        return { id: file.slice(0, -'.json'.length), profile: parseProfile(text), text };
      } catch (err) {
        throw new Error(`${join(dir, file)}: ${(err as Error).message}`);
      }
    });
}

/** The library profiles of one vendor family (e.g. victron-gx); none is an error naming the families there are. */
export function profileFamily(family: string, dir = PROFILE_DIR): LibraryProfile[] {
  const all = profileLibrary(dir);
  const found = all.filter((p) => p.profile.family === family);
  if (found.length === 0) {
    const families = [...new Set(all.map((p) => p.profile.family).filter((f): f is string => !!f))].sort();
    throw new Error(`no library profile of the family '${family}'; there are: ${families.join(', ')}`);
  }
  return found;
}

/** The families of the library, for --help and the settings check. */
export function profileFamilies(dir = PROFILE_DIR): string[] {
  return [...new Set(profileLibrary(dir).map((p) => p.profile.family).filter((f): f is string => !!f))].sort();
}
