// The cloud's bundle store (<data-dir>/ota/bundles/<version>/: manifest.json, manifest.sig,
// payload.tar.gz) and its sequence counter, shared by `lifo4 image build`, the cloud's OTA routes
// and the all-in-one's factory bundle, so every bundle signed with one fleet key gets a sequence
// above the last one.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageVersion } from '../package-info';
import { packageRoot } from '../../io/package-root';
import { buildBundle, DEFAULT_ENTRY, type BuiltBundle } from './bundle';
import { loadOrCreateSigningKey, otaDir } from './signing-key';

export function bundleStoreDir(cloudDataDir: string): string {
  return join(otaDir(cloudDataDir), 'bundles');
}

/** The next sequence number of this cloud: one above the highest ever used (kept in <data-dir>/ota/sequence). */
export function nextSequence(cloudDataDir: string, given?: string): number {
  const dir = otaDir(cloudDataDir);
  const file = join(dir, 'sequence');
  const last = existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) || 0 : 0;
  const seq = given !== undefined ? Number(given) : last + 1;
  if (!Number.isSafeInteger(seq) || seq < 1) throw new Error(`--sequence must be a whole number from 1, not '${given ?? ''}'`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(file, `${Math.max(seq, last)}\n`);
  return seq;
}

/**
 * The all-in-one's factory bundle: the given flows, run by the code installed here (its entry is
 * this installation's CLI, so a rebuilt checkout runs the rebuilt code). A device fresh from the
 * factory starts from it; every later release comes over the air with its own code in the payload.
 */
export async function buildFactoryBundle(cloudDataDir: string, flowsFile: string, outDir: string): Promise<BuiltBundle> {
  const sequence = nextSequence(cloudDataDir);
  rmSync(outDir, { recursive: true, force: true });
  return buildBundle({
    flowsFile, outDir, signingKey: loadOrCreateSigningKey(cloudDataDir).privateKey,
    version: `${packageVersion}-factory.${sequence}`, sequence,
    entry: [join(packageRoot, DEFAULT_ENTRY[0]!), ...DEFAULT_ENTRY.slice(1)],
  });
}
