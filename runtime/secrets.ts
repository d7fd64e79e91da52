// The secrets of an installation live in <dataDir>/secrets.json (mode 0600), generated on the
// first start and reused afterwards; none is ever written in code or the repository. Losing the
// file makes the credentials stored in the flows unreadable (Node-RED encrypts them with
// credentialSecret), so an unreadable file stops start-up instead of being replaced.
import { randomBytes } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

const secret = z.string().min(32);

export const SecretsSchema = z
  .object({
    /** Node-RED encrypts the flows' credentials with it (settings.credentialSecret). */
    credentialSecret: secret,
    /** Signs API tokens once the API has users. */
    jwtSecret: secret,
    /** The cloud runtime's password on the MQTT broker (user 'cloud'). */
    mqttCloudPassword: secret,
    /** Encrypts the users' TOTP secrets in cloud.db (apart from jwtSecret, so rotating that keeps 2FA). */
    totpKey: secret,
    /** The bearer token Prometheus scrapes the edge's /metrics with (README, "Edge metrics"). */
    edgeMetricsToken: secret,
    /** Per site: its MQTT password (user = site id) and the key that signs its commands. */
    sites: z.record(z.string(), z.object({ mqttPassword: secret, commandKey: secret })).default({}),
  })
  // Keep secrets that later versions add, so an older build never drops them.
  .catchall(z.unknown());
export type Secrets = z.infer<typeof SecretsSchema>;

const GENERATED: Record<keyof Pick<Secrets, 'credentialSecret' | 'jwtSecret' | 'mqttCloudPassword' | 'totpKey' | 'edgeMetricsToken'>, () => string> = {
  totpKey: () => randomBytes(32).toString('base64url'),
  credentialSecret: () => randomBytes(32).toString('hex'),
  jwtSecret: () => randomBytes(48).toString('base64url'),
  mqttCloudPassword: () => randomBytes(24).toString('base64url'),
  edgeMetricsToken: () => randomBytes(32).toString('base64url'),
};

export type SiteSecrets = Secrets['sites'][string];

export class SecretsError extends Error {
  override readonly name = 'SecretsError';
}

export function secretsPath(dataDir: string): string {
  return join(dataDir, 'secrets.json');
}

function writeNew(path: string, content: string): boolean {
  // Write a private temporary file, then link it into place: link() fails if the file appeared in
  // the meantime, so two processes starting together agree on one set of secrets, and no reader
  // ever sees a half-written file.
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, content, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(tmp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    unlinkSync(tmp);
  }
}

function readExisting(path: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new SecretsError(
      `${path} is unreadable (${(err as Error).message}); restore it from a backup, or delete it to generate new ` +
        'secrets (credentials stored in existing flows are then lost)',
    );
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new SecretsError(`${path} must hold a JSON object`);
  }
  return parsed as Record<string, unknown>;
}

function replace(path: string, content: object): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}

/**
 * A site's MQTT password and command key, generated into secrets.json on first use. In `lifo4
 * start` the supervisor creates them before the edge and the cloud start, so the two never race;
 * on separate machines the cloud's entry for the site is copied into the edge's secrets.json.
 */
export function siteSecrets(dataDir: string, siteId: string): SiteSecrets {
  const secrets = loadOrCreateSecrets(dataDir);
  const known = secrets.sites[siteId];
  if (known) return known;
  const created: SiteSecrets = { mqttPassword: randomBytes(24).toString('base64url'), commandKey: randomBytes(32).toString('base64url') };
  const path = secretsPath(dataDir);
  const existing = readExisting(path);
  const sites = (existing.sites && typeof existing.sites === 'object' ? existing.sites : {}) as Record<string, unknown>;
  replace(path, { ...existing, sites: { ...sites, [siteId]: created } });
  return created;
}

/**
 * The installation's secrets: created in <dataDir>/secrets.json with mode 0600 on the first call,
 * read on later calls; secrets added by a newer version are generated into the existing file.
 */
export function loadOrCreateSecrets(dataDir: string): Secrets {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = secretsPath(dataDir);
  const fresh = Object.fromEntries(Object.entries(GENERATED).map(([k, make]) => [k, make()]));
  if (writeNew(path, `${JSON.stringify(fresh, null, 2)}\n`)) return SecretsSchema.parse(fresh);

  const existing = readExisting(path);
  // Someone made the file readable by others (a copy, an archive): make it private again.
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  const missing = Object.keys(GENERATED).filter((k) => existing[k] === undefined);
  const completed = { ...existing, ...Object.fromEntries(missing.map((k) => [k, fresh[k]])) };
  const checked = SecretsSchema.safeParse(completed);
  if (!checked.success) {
    throw new SecretsError(`${path}: ${checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  if (missing.length > 0) replace(path, completed);
  return checked.data;
}
