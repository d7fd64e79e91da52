// The fleet signing key: one Ed25519 key pair in the cloud's data directory (in production the private half belongs in an HSM, and only
// signManifest needs to change for that), or its private half off the host with an offline signer
// (`lifo4 image build --signing-key FILE`, README "Offline signing"): the cloud itself only ever
// needs the public half, to list bundles and to hand it to devices, which also ship with it.
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const SIGNING_KEY_FILE = 'fleet-signing.key';
export const SIGNING_PUB_FILE = 'fleet-signing.pub';

export function otaDir(cloudDataDir: string): string {
  return join(cloudDataDir, 'ota');
}

export interface FleetSigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** SPKI PEM of the public key: what devices store. */
  publicPem: string;
}

/**
 * Loads the fleet signing key from <dataDir>/ota, generating it on first use (mode 0600). A public
 * key without its private half means the key is kept offline: never replaced by a new one (every
 * device trusts the old), an error naming --signing-key instead.
 */
export function loadOrCreateSigningKey(cloudDataDir: string): FleetSigningKey {
  const dir = otaDir(cloudDataDir);
  const keyPath = join(dir, SIGNING_KEY_FILE);
  const pubPath = join(dir, SIGNING_PUB_FILE);
  if (!existsSync(keyPath) && existsSync(pubPath)) {
    throw new Error(`the fleet signing key is not on this host (${keyPath}; its public half ${pubPath} is): sign offline with --signing-key FILE`);
  }
  if (!existsSync(keyPath)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    // Written beside and renamed, so a crash never leaves half a key behind.
    writeFileSync(`${keyPath}.new`, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    writeFileSync(pubPath, publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644 });
    renameSync(`${keyPath}.new`, keyPath);
  }
  const key = loadSigningKey(keyPath);
  if (!existsSync(pubPath)) writeFileSync(pubPath, key.publicPem, { mode: 0o644 });
  return key;
}

/** The fleet signing key from a file given by path (an offline signer's). */
export function loadSigningKey(keyPath: string): FleetSigningKey {
  const privateKey = createPrivateKey(readFileSync(keyPath));
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`${keyPath} is not an Ed25519 key`);
  const publicKey = createPublicKey(privateKey);
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  return { privateKey, publicKey, publicPem };
}

/** The PEM of the fleet's public key in this data directory, or null when there is none. */
export function readSigningPublicPem(cloudDataDir: string): string | null {
  const key = readSigningPublicKey(cloudDataDir);
  return key ? key.export({ type: 'spki', format: 'pem' }).toString() : null;
}

/** The fleet's public key if the signing key was ever generated in this data directory, else null. */
export function readSigningPublicKey(cloudDataDir: string): KeyObject | null {
  const pubPath = join(otaDir(cloudDataDir), SIGNING_PUB_FILE);
  return existsSync(pubPath) ? readPublicKey(readFileSync(pubPath)) : null;
}

/** Reads an Ed25519 public key (SPKI PEM); throws when it is something else. */
export function readPublicKey(pem: string | Buffer): KeyObject {
  const key = createPublicKey(pem);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`the fleet key must be Ed25519, not ${String(key.asymmetricKeyType)}`);
  return key;
}

/** Ed25519 signature (64 bytes) over the exact manifest bytes. */
export function signManifest(manifest: Buffer, key: KeyObject): Buffer {
  return sign(null, manifest, key);
}

export function manifestSignatureValid(manifest: Buffer, signature: Buffer, key: KeyObject): boolean {
  if (signature.length !== 64) return false;
  try {
    return verify(null, manifest, key, signature);
  } catch {
    return false;
  }
}
