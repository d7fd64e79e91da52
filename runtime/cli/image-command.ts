// `lifo4 image build|verify`: turns flows exported from the edge editor into a signed edge bundle,
// and checks one (exit 0 when valid; otherwise exit 3 naming the reason). See README "OTA".
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { FIELDS } from '../../settings';

/** Exit code of `image verify` for a refused bundle (2 = usage or configuration). */
export const BUNDLE_REFUSED_EXIT = 3;

interface BuildFlags {
  flows: string;
  out?: string;
  dataDir?: string;
  release?: string;
  sequence?: string;
  include?: string[];
  settings?: string;
  entry?: string;
  signingKey?: string;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function addImageCommand(program: Command): Command {
  const image = program.command('image').description('build and verify signed edge bundles (OTA)');

  image
    .command('build')
    .description('bundle exported edge flows with the compiled runtime into a signed bundle folder')
    .requiredOption('--flows <FILE>', 'flows exported from the edge editor (JSON array)')
    .option('--out <DIR>', "bundle folder to write (default <data-dir>/ota/bundles/<version>, the cloud's bundle store that the dashboard deploys from)")
    .option(`${FIELDS.dataDir.flag} <DIR>`, `cloud data directory holding the fleet signing key in ota/ (default ${String(FIELDS.dataDir.default)})`)
    .option('--release <VERSION>', 'release version (default <package version>-<sequence>)')
    .option('--sequence <N>', 'monotonic sequence number (default one above the last built here)')
    .option('--include <PATH>', 'file or folder copied into the payload; repeat (default: dist and package.json of this installation)', collect)
    .option('--settings <FILE>', 'settings.json copied into the payload')
    .option('--signing-key <FILE>', 'fleet signing private key (PEM) given by path, for an offline signer (default <data-dir>/ota/fleet-signing.key, made on first use)')
    .option('--entry <JSON>', 'arguments to node that start the runtime, as a JSON array ({release}, {data} are substituted)')
    .action(async (o: BuildFlags) => {
      const [{ buildBundle }, { loadOrCreateSigningKey, loadSigningKey }, { bundleStoreDir, nextSequence }, { packageVersion }, { packageRoot }] = await Promise.all([
        import('../ota/bundle.js'), import('../ota/signing-key.js'), import('../ota/bundle-store.js'), import('../package-info.js'), import('../../io/package-root.js'),
      ]);
      const dataDir = resolve(o.dataDir ?? process.env.LIFO4_DATA_DIR ?? String(FIELDS.dataDir.default));
      const key = o.signingKey !== undefined ? loadSigningKey(resolve(o.signingKey)) : loadOrCreateSigningKey(dataDir);
      const sequence = nextSequence(dataDir, o.sequence);
      const version = o.release ?? `${packageVersion}-${sequence}`;
      const include = o.include ?? [join(packageRoot, 'dist'), join(packageRoot, 'package.json')];
      let entry: string[] | undefined;
      if (o.entry !== undefined) {
        const parsed: unknown = JSON.parse(o.entry);
        if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) throw new Error('--entry must be a JSON array of strings');
        entry = parsed as string[];
      }
      const out = resolve(o.out ?? join(bundleStoreDir(dataDir), version));
      const built = await buildBundle({
        flowsFile: o.flows, outDir: out, signingKey: key.privateKey, version, sequence, include,
        ...(o.settings !== undefined ? { settingsFile: o.settings } : {}), ...(entry ? { entry } : {}),
      });
      console.log(`built ${built.manifest.version} (sequence ${built.manifest.sequence}) in ${out}`);
      console.log(`payload sha256 ${built.manifest.payload.sha256} (${built.manifest.payload.bytes} bytes)`);
    });

  image
    .command('verify')
    .description('check a bundle: signature, hashes, archive entries (exit 3 naming the reason when refused)')
    .argument('<BUNDLE>', 'bundle folder')
    .option('--key <PUB>', 'fleet public key (PEM); default <data-dir>/ota/fleet-signing.pub')
    .option(`${FIELDS.dataDir.flag} <DIR>`, 'cloud data directory (for the default key)')
    .option('--min-sequence <N>', 'refuse a bundle whose sequence is not above N (downgrade check)')
    .action(async (bundle: string, o: { key?: string; dataDir?: string; minSequence?: string }) => {
      const [{ verifyBundle }, { readPublicKey, otaDir, SIGNING_PUB_FILE }, { BundleError }] = await Promise.all([
        import('../ota/bundle.js'), import('../ota/signing-key.js'), import('../ota/manifest.js'),
      ]);
      const keyPath = o.key ?? join(otaDir(resolve(o.dataDir ?? process.env.LIFO4_DATA_DIR ?? String(FIELDS.dataDir.default))), SIGNING_PUB_FILE);
      const key = readPublicKey(readFileSync(keyPath));
      try {
        const m = await verifyBundle(resolve(bundle), key, o.minSequence !== undefined ? { minSequence: Number(o.minSequence) } : {});
        console.log(`ok ${m.version} (sequence ${m.sequence}, ${m.arch}, Node ${m.node}, payload ${m.payload.sha256})`);
      } catch (err) {
        if (err instanceof BundleError) {
          console.error(`lifo4 image verify: refused: ${err.message}`);
          process.exit(BUNDLE_REFUSED_EXIT);
        }
        throw err;
      }
    });
  return image;
}
