// Where a site's buffer file lives: <dir>/<siteId>.db, by default under Node-RED's user directory
// (settings.userDir, itself ~/.node-red by default), so it survives restarts and redeploys.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export function siteBufferPath(dir: string, userDir: string | undefined, siteId: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(siteId)) throw new Error(`siteId "${siteId}" cannot name a buffer file`);
  const base = dir ? resolve(userDir ?? homedir(), dir) : join(userDir ?? join(homedir(), '.node-red'), 'buffer');
  return join(base, `${siteId}.db`);
}
