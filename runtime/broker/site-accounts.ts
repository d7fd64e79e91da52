// The broker's accounts when the cloud runs it: 'cloud' and one per site in the data dir's
// secrets.json (runtime/secrets.ts). A plain path is all it needs, so the broker thread
// (broker-worker.ts) reads the file itself.
import { statSync } from 'node:fs';
import { loadOrCreateSecrets, secretsPath, type Secrets } from '../secrets';
import { CLOUD_USERNAME } from './acl';
import { hashSecret } from './credentials';

/**
 * username -> password hash, read again on every connect so a site added while the cloud runs can
 * connect without a restart.
 */
export function brokerCredentials(dataDir: string): (username: string) => string | undefined {
  // Parsed again only when the file changed: after an outage thousands of sites reconnect at once.
  let cached: { mtimeMs: number; secrets: Secrets } | undefined;
  return (username) => {
    const mtimeMs = statSync(secretsPath(dataDir)).mtimeMs;
    if (!cached || cached.mtimeMs !== mtimeMs) cached = { mtimeMs, secrets: loadOrCreateSecrets(dataDir) };
    const { secrets } = cached;
    if (username === CLOUD_USERNAME) return hashSecret(secrets.mqttCloudPassword);
    const site = secrets.sites[username];
    return site ? hashSecret(site.mqttPassword) : undefined;
  };
}
