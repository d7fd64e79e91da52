// Broker passwords: how they are stored and checked. Two hash formats, both compared in constant
// time:
// - `sha256:<hex>` for the random secrets this system generates (32 random bytes each): a secret
//   that cannot be guessed needs no slow hash, and a fast check keeps thousands of sites
//   reconnecting after an outage cheap for the broker.
// - Mosquitto 2.0's `$7$<iterations>$<salt b64>$<hash b64>` (PBKDF2-HMAC-SHA512, 64-byte hash, as
//   written by mosquitto_passwd), for passwords people choose, and so that one password file
//   serves Mosquitto and the embedded broker alike.
import { createHash, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

/** username -> password hash. A function lets sites be added without restarting the broker. */
export type CredentialSource = ReadonlyMap<string, string> | ((username: string) => string | undefined);

export interface BrokerCredential {
  username: string;
  passwordHash: string;
}

/** A new random secret for a site or the cloud account: 32 bytes, base64url (43 characters). */
export function generateSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** The stored form of a generated secret. */
export function hashSecret(secret: string): string {
  return `sha256:${createHash('sha256').update(secret, 'utf8').digest('hex')}`;
}

/** Mosquitto's default is 101 PBKDF2 rounds; they are the hash's own parameter, so more is fine. */
export const PBKDF2_ITERATIONS = 101;

/** The Mosquitto 2.0 `$7$` hash of a password, as mosquitto_passwd writes it. */
export function mosquittoHash(password: string, opts: { iterations?: number; salt?: Buffer } = {}): string {
  const iterations = opts.iterations ?? PBKDF2_ITERATIONS;
  const salt = opts.salt ?? randomBytes(12);
  const hash = pbkdf2Sync(password, salt, iterations, 64, 'sha512');
  return `$7$${iterations}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

const MOSQUITTO_7 = /^\$7\$(\d{1,7})\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/;
const SHA256 = /^sha256:([0-9a-f]{64})$/;

/** Whether `hash` is in one of the formats verifyPassword understands. */
export function isPasswordHash(hash: string): boolean {
  return SHA256.test(hash) || MOSQUITTO_7.test(hash);
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Checks a password against its stored hash in constant time; an unknown format never matches. */
export function verifyPassword(password: Buffer | string, hash: string): boolean {
  const pw = typeof password === 'string' ? Buffer.from(password, 'utf8') : password;
  const sha = SHA256.exec(hash);
  if (sha) return sameBytes(createHash('sha256').update(pw).digest(), Buffer.from(sha[1]!, 'hex'));
  const m7 = MOSQUITTO_7.exec(hash);
  if (m7) {
    const iterations = Number(m7[1]);
    const expected = Buffer.from(m7[3]!, 'base64');
    if (iterations < 1 || expected.length !== 64) return false;
    return sameBytes(pbkdf2Sync(pw, Buffer.from(m7[2]!, 'base64'), iterations, 64, 'sha512'), expected);
  }
  return false;
}

/** A Mosquitto password file's text (`username:hash` lines, # comments) as credentials. */
export function parsePasswordFile(text: string): BrokerCredential[] {
  const out: BrokerCredential[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith('#')) return;
    const colon = trimmed.indexOf(':');
    const username = trimmed.slice(0, colon);
    const passwordHash = trimmed.slice(colon + 1);
    if (colon <= 0 || !isPasswordHash(passwordHash)) throw new Error(`password file line ${i + 1}: expected username:<$7$ or sha256: hash>`);
    out.push({ username, passwordHash });
  });
  return out;
}

export function lookupOf(source: CredentialSource): (username: string) => string | undefined {
  return typeof source === 'function' ? source : (username) => source.get(username);
}
