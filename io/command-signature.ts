// Command signatures: the cloud signs every command for a site with that site's key, the edge
// verifies it before anything else. HMAC-SHA256 (RFC 2104, FIPS 198-1) over the canonical JSON of
// every field but `sig`: canonical = object keys sorted at every depth, no whitespace, numbers and
// strings as JSON.stringify writes them (ECMA-262 Number::toString is deterministic), undefined
// members left out. Both sides build the signed text from the parsed command, so extra members a
// sender adds are neither signed nor executed. The signature is lowercase hex (64 characters).
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { SignedCommand } from '../domain/contracts';

export type UnsignedCommand = Omit<SignedCommand, 'sig'>;

/** Shortest key accepted: 128 bits (NIST SP 800-107 r1, 5.3.4: HMAC key at least the security strength). */
export const MIN_KEY_BYTES = 16;

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error('canonical JSON: numbers must be finite');
    if (typeof value === 'bigint' || typeof value === 'function' || typeof value === 'symbol' || value === undefined) {
      throw new Error(`canonical JSON: cannot encode ${typeof value}`);
    }
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** The text a command's signature covers: every field but sig. */
export function signedText(cmd: UnsignedCommand | SignedCommand): string {
  const { sig: _sig, ...rest } = cmd as SignedCommand;
  return canonicalJson(rest);
}

/** A site key written as hex (64 characters for 32 bytes) or base64; at least MIN_KEY_BYTES. */
export function parseKey(text: string): Buffer {
  const t = text.trim();
  let key: Buffer;
  if (/^(?:[0-9a-fA-F]{2})+$/.test(t)) key = Buffer.from(t, 'hex');
  else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(t)) key = Buffer.from(t, 'base64');
  else throw new Error('command key: hex or base64 expected');
  if (key.length < MIN_KEY_BYTES) throw new Error(`command key: ${key.length} bytes, at least ${MIN_KEY_BYTES} needed`);
  return key;
}

export function signature(cmd: UnsignedCommand | SignedCommand, key: Buffer): string {
  return createHmac('sha256', key).update(signedText(cmd), 'utf8').digest('hex');
}

export function signCommand(cmd: UnsignedCommand, key: Buffer): SignedCommand {
  return { ...cmd, sig: signature(cmd, key) };
}

/** True when `cmd.sig` is the signature of its other fields under `key` (compared in constant time). */
export function verifyCommand(cmd: SignedCommand, key: Buffer): boolean {
  const expected = Buffer.from(signature(cmd, key), 'hex');
  if (!/^[0-9a-f]{64}$/.test(cmd.sig)) return false;
  return timingSafeEqual(expected, Buffer.from(cmd.sig, 'hex'));
}
