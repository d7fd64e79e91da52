// Building and verifying the signed edge bundle. Nothing in a bundle is
// installed from a registry on the device: the payload carries the compiled runtime, production
// node_modules, the flows and settings, and the device only checks and unpacks it.
import { createHash, type KeyObject } from 'node:crypto';
import { cpSync, createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { z } from 'zod';
import { scanArchive, writeDeterministicArchive } from './payload-archive';
import { fsyncPath } from '../../io/durable-file';
import {
  BundleError, MANIFEST_FILE, PAYLOAD_FILE, PAYLOAD_FLOWS, RELEASE_MANIFEST, SIGNATURE_FILE, parseManifest, type Manifest,
} from './manifest';
import { manifestSignatureValid, signManifest } from './signing-key';

/** What `lifo4 edge` runs from an installed release, unless the build says otherwise. */
export const DEFAULT_ENTRY = ['dist/runtime/cli/main.js', 'edge', '--flows', '{release}/flows.json', '--data-dir', '{data}'];

const FlowArray = z.array(z.looseObject({ id: z.string().min(1), type: z.string().min(1) }));

export interface BuildOptions {
  /** Flows exported from the edge editor (a JSON array of nodes). */
  flowsFile: string;
  /** Folder the bundle's three files are written to (created). */
  outDir: string;
  signingKey: KeyObject;
  version: string;
  sequence: number;
  /** Folders or files copied into the payload under their base name (e.g. dist, node_modules, package.json). */
  include?: readonly string[];
  /** settings.json for the runtime, optional. */
  settingsFile?: string;
  entry?: readonly string[];
  arch?: string;
  node?: string;
}

export interface BuiltBundle {
  dir: string;
  manifest: Manifest;
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export function sha256(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export async function buildBundle(o: BuildOptions): Promise<BuiltBundle> {
  const flowsBytes = readFileSync(o.flowsFile);
  let flowsJson: unknown;
  try {
    flowsJson = JSON.parse(flowsBytes.toString('utf8'));
  } catch (err) {
    throw new Error(`${o.flowsFile} is not JSON: ${(err as Error).message}`);
  }
  if (!FlowArray.safeParse(flowsJson).success) throw new Error(`${o.flowsFile} is not a Node-RED flow export (an array of nodes with id and type)`);

  const staging = mkdtempSync(join(tmpdir(), 'lifo4-bundle-'));
  try {
    const tree = join(staging, 'tree');
    mkdirSync(tree);
    writeFileSync(join(tree, PAYLOAD_FLOWS), flowsBytes);
    if (o.settingsFile) writeFileSync(join(tree, 'settings.json'), readFileSync(o.settingsFile));
    for (const src of o.include ?? []) {
      const name = basename(src);
      if (name === PAYLOAD_FLOWS || name === 'settings.json' || name === RELEASE_MANIFEST) throw new Error(`--include ${src}: ${name} is reserved in the payload`);
      if (existsSync(join(tree, name))) throw new Error(`--include ${src}: ${name} is included twice`);
      // dereference: the payload holds no links (the device refuses them), e.g. node_modules/.bin.
      cpSync(src, join(tree, name), { recursive: true, dereference: true });
    }
    mkdirSync(o.outDir, { recursive: true });
    const payloadPath = join(o.outDir, PAYLOAD_FILE);
    await writeDeterministicArchive(tree, payloadPath);
    fsyncPath(payloadPath);
    const manifest: Manifest = {
      v: 1,
      version: o.version,
      sequence: o.sequence,
      arch: o.arch ?? process.arch,
      node: o.node ?? process.versions.node.split('.')[0]!,
      entry: [...(o.entry ?? DEFAULT_ENTRY)],
      payload: { file: PAYLOAD_FILE, sha256: await sha256File(payloadPath), bytes: statSync(payloadPath).size },
      flows: { path: PAYLOAD_FLOWS, sha256: sha256(flowsBytes) },
    };
    const manifestBytes = Buffer.from(`${JSON.stringify(parseManifest(Buffer.from(JSON.stringify(manifest))), null, 2)}\n`);
    writeFileSync(join(o.outDir, MANIFEST_FILE), manifestBytes);
    writeFileSync(join(o.outDir, SIGNATURE_FILE), signManifest(manifestBytes, o.signingKey));
    return { dir: o.outDir, manifest };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

export interface VerifyOptions {
  /** Refuse unless manifest.sequence is strictly above this (the sequence the device runs). */
  minSequence?: number;
  /** Refuse a payload built for another arch or Node major (its native modules would not load). */
  platform?: { arch: string; node: string };
}

/**
 * Verifies a bundle folder: manifest signature, payload length and SHA-256, flows SHA-256, that
 * every archive entry is a plain file or folder inside the release, then downgrade and platform.
 * Returns the manifest or throws a BundleError naming the reason. Reads, never writes.
 */
export async function verifyBundle(dir: string, key: KeyObject, opts: VerifyOptions = {}): Promise<Manifest> {
  for (const f of [MANIFEST_FILE, SIGNATURE_FILE, PAYLOAD_FILE]) {
    if (!existsSync(join(dir, f))) throw new BundleError('missing-file', `${f} is missing from ${dir}`);
  }
  const manifestBytes = readFileSync(join(dir, MANIFEST_FILE));
  const signature = readFileSync(join(dir, SIGNATURE_FILE));
  // The signature comes first: nothing of an unauthenticated manifest is believed.
  if (!manifestSignatureValid(manifestBytes, signature, key)) {
    throw new BundleError('signature-invalid', 'manifest.sig is not a valid Ed25519 signature of manifest.json by the fleet key');
  }
  const manifest = parseManifest(manifestBytes);
  const payloadPath = join(dir, PAYLOAD_FILE);
  return verifyPayload(manifest, payloadPath, await sha256File(payloadPath), opts);
}

/** The checks after the signature, for a payload whose hash was computed while it streamed in. */
export async function verifyPayload(manifest: Manifest, payloadPath: string, payloadSha256: string, opts: VerifyOptions = {}): Promise<Manifest> {
  const size = statSync(payloadPath).size;
  if (size !== manifest.payload.bytes) throw new BundleError('payload-size-mismatch', `payload is ${size} bytes, the manifest says ${manifest.payload.bytes}`);
  if (payloadSha256 !== manifest.payload.sha256) throw new BundleError('payload-hash-mismatch', `payload SHA-256 ${payloadSha256} differs from the manifest's ${manifest.payload.sha256}`);
  const scan = await scanArchive(payloadPath, [PAYLOAD_FLOWS]);
  const flows = scan.contents.get(PAYLOAD_FLOWS);
  if (!flows) throw new BundleError('flows-hash-mismatch', `the payload holds no ${PAYLOAD_FLOWS}`);
  if (sha256(flows) !== manifest.flows.sha256) throw new BundleError('flows-hash-mismatch', `${PAYLOAD_FLOWS} SHA-256 differs from the manifest's`);
  if (opts.minSequence !== undefined && manifest.sequence <= opts.minSequence) {
    throw new BundleError('downgrade', `bundle ${manifest.version} has sequence ${manifest.sequence}, not above the running ${opts.minSequence}`);
  }
  if (opts.platform && (opts.platform.arch !== manifest.arch || opts.platform.node !== manifest.node)) {
    throw new BundleError('wrong-platform', `bundle is for ${manifest.arch} / Node ${manifest.node}, this device is ${opts.platform.arch} / Node ${opts.platform.node}`);
  }
  return manifest;
}
