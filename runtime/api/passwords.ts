// Password hashing: bcrypt at cost 12.
// bcrypt rather than argon2id because bcryptjs is pure JavaScript: the same package runs on the
// edge controller (ARM boards, no compiler, no network for prebuilt binaries) and in the cloud,
// while argon2 needs a native build. Cost 12 takes ~250 ms per hash on these machines: slow for
// an attacker with a stolen database, fast enough for a login. bcrypt reads only the first 72
// bytes of a password, so longer ones are refused instead of silently truncated.
import bcrypt from 'bcryptjs';
import { z } from 'zod';

export const BCRYPT_COST = 12;

export const PasswordSchema = z
  .string()
  .min(12, 'at least 12 characters')
  .refine((p) => Buffer.byteLength(p, 'utf8') <= 72, 'at most 72 bytes (bcrypt reads no further)');

export function hashPassword(password: string, cost: number = BCRYPT_COST): Promise<string> {
  return bcrypt.hash(password, cost);
}

export function verifyPassword(password: string, hash: string): Promise<boolean> {
  return bcrypt.compare(password, hash);
}

/**
 * A hash of a random password at the same cost: compared against when the email is unknown, so
 * a login for an unknown account takes as long as one for a known account.
 */
export function decoyHash(cost: number = BCRYPT_COST): string {
  return bcrypt.hashSync(`decoy-${Math.random()}`, cost);
}
