// The signed edge bundle's manifest and the reasons a bundle is refused. A bundle is a folder (or
// the same three files served over HTTP): manifest.json, manifest.sig (Ed25519 over the exact
// bytes of manifest.json) and payload.tar.gz. The manifest pins the payload by SHA-256 and
// length, so the signature over the small manifest covers the whole payload (the pattern of
// RAUC's signed manifest and TUF's targets metadata).
import { z } from 'zod';

export const MANIFEST_FILE = 'manifest.json';
export const SIGNATURE_FILE = 'manifest.sig';
export const PAYLOAD_FILE = 'payload.tar.gz';
export const BUNDLE_FILES = [MANIFEST_FILE, SIGNATURE_FILE, PAYLOAD_FILE] as const;
export type BundleFile = (typeof BUNDLE_FILES)[number];

/** The manifest an installed release keeps beside its payload (the payload may not use this name). */
export const RELEASE_MANIFEST = '.lifo4-manifest.json';

/** Where the flows sit inside the payload (and so inside an installed release). */
export const PAYLOAD_FLOWS = 'flows.json';

/** A release version names a folder on the device: no separators, no dots only, no leading dash. */
export const VersionSchema = z
  .string()
  .regex(/^[0-9A-Za-z][0-9A-Za-z._+-]{0,63}$/, 'a version of letters, digits, . _ + - (at most 64, not starting with . or -)')
  .refine((v) => !v.endsWith('.tmp'), 'a version may not end in .tmp (the suffix of a release being extracted)');

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex SHA-256');

export const ManifestSchema = z.strictObject({
  v: z.literal(1),
  version: VersionSchema,
  /** Monotonic: a device refuses a bundle whose sequence is not above the one it runs. */
  sequence: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  /** process.arch of the device the production node_modules were built for. */
  arch: z.string().min(1).max(16),
  /** Major Node.js version the payload was built with. */
  node: z.string().regex(/^\d{1,3}$/),
  /**
   * How the agent starts the runtime: arguments to node. `{release}` becomes the release folder,
   * `{data}` the persistent data folder outside the releases.
   */
  entry: z.array(z.string().min(1).max(512)).min(1).max(32),
  payload: z.strictObject({ file: z.literal(PAYLOAD_FILE), sha256: Sha256, bytes: z.number().int().min(1) }),
  flows: z.strictObject({ path: z.literal(PAYLOAD_FLOWS), sha256: Sha256 }),
});
export type Manifest = z.infer<typeof ManifestSchema>;

/** Why a bundle was refused; the codes are stable (tests, reports and the cloud read them). */
export type BundleRefusal =
  | 'missing-file'
  | 'manifest-invalid'
  | 'signature-invalid'
  | 'payload-size-mismatch'
  | 'payload-hash-mismatch'
  | 'flows-hash-mismatch'
  | 'downgrade'
  | 'wrong-platform'
  | 'unsafe-entry'
  | 'archive-invalid';

export class BundleError extends Error {
  override readonly name = 'BundleError';
  constructor(
    readonly reason: BundleRefusal,
    message: string,
  ) {
    super(`${reason}: ${message}`);
  }
}

/** Parses manifest bytes; a BundleError names what is wrong. */
export function parseManifest(bytes: Buffer): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new BundleError('manifest-invalid', `manifest.json is not JSON (${(err as Error).message})`);
  }
  const r = ManifestSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new BundleError('manifest-invalid', `manifest.json: ${i ? `${i.path.join('.') || '(root)'}: ${i.message}` : 'invalid'}`);
  }
  return r.data;
}
