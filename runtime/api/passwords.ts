// Password hashing: bcrypt at cost 12.
// bcrypt rather than argon2id because bcryptjs is pure JavaScript: the same package runs on the
// edge controller (ARM boards, no compiler, no network for prebuilt binaries) and in the cloud,
// while argon2 needs a native build. Cost 12 takes ~250 ms per hash on these machines: slow for
// an attacker with a stolen database, fast enough for a login. bcrypt reads only the first 72
// bytes of a password, so longer ones are refused instead of silently truncated.
//
// Every hash and compare runs in the process's bcrypt pool (bcrypt-pool.ts: worker threads and a
// bounded queue), so logins do not stall the event loop; a full queue rejects with PoolBusyError.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { BcryptPool, type PoolOptions } from './bcrypt-pool';

export const BCRYPT_COST = 12;

export const PasswordSchema = z
  .string()
  .min(12, 'at least 12 characters')
  .refine((p) => Buffer.byteLength(p, 'utf8') <= 72, 'at most 72 bytes (bcrypt reads no further)');

let pool: BcryptPool | undefined;

/** The process's bcrypt pool, created on first use. */
export function passwordPool(): BcryptPool {
  pool ??= new BcryptPool();
  return pool;
}

/** Replaces the process's pool (the benchmark compares sizes; 0 = on the event loop). */
export async function configurePasswordPool(opts: PoolOptions): Promise<BcryptPool> {
  const old = pool;
  pool = new BcryptPool(opts);
  await old?.close();
  return pool;
}

export function hashPassword(password: string, cost: number = BCRYPT_COST): Promise<string> {
  return passwordPool().hash(password, cost);
}

export function verifyPassword(password: string, hash: string): Promise<boolean> {
  return passwordPool().compare(password, hash);
}

/**
 * A hash of a random password at the same cost, through the same pool: compared against when the
 * email is unknown, so a login for an unknown account costs what one for a known account costs.
 */
export function decoyHash(cost: number = BCRYPT_COST): Promise<string> {
  return hashPassword(`decoy-${randomUUID()}`, cost);
}
