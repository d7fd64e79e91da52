// Signed, expiring bundle download URLs: <base>/ota/bundles/<version>/<token>/<file>, the token
// `<siteId>.<expiry s>.<HMAC-SHA256 of version, siteId, expiry>` under a key generated on first use
// into <dataDir>/ota/download.key (0600). A site gets a fresh one with each notice; nobody else has
// one, and a leaked one opens only that bundle, for DOWNLOAD_TOKEN_MS.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SiteIdSchema } from '../../domain/contracts';
import { otaDir } from './signing-key';

/** Long enough for a site that is offline over a weekend to fetch what it was told; short otherwise. */
export const DOWNLOAD_TOKEN_MS = 7 * 86_400_000;

const TOKEN = /^([A-Za-z0-9_-]{1,64})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/;

export class DownloadTokens {
  #key: Buffer | null = null;

  constructor(private readonly dataDir: string, private readonly now: () => number = Date.now) {}

  private key(): Buffer {
    if (this.#key) return this.#key;
    const dir = otaDir(this.dataDir);
    const path = join(dir, 'download.key');
    if (!existsSync(path)) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      writeFileSync(`${path}.new`, randomBytes(32).toString('base64'), { mode: 0o600 });
      renameSync(`${path}.new`, path);
    }
    this.#key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
    return this.#key;
  }

  private mac(version: string, siteId: string, expiry: string): Buffer {
    return createHmac('sha256', this.key()).update(`${version}\n${siteId}\n${expiry}`).digest();
  }

  sign(siteId: string, version: string): string {
    const expiry = String(Math.floor((this.now() + DOWNLOAD_TOKEN_MS) / 1000));
    return `${siteId}.${expiry}.${this.mac(version, siteId, expiry).toString('base64url')}`;
  }

  /** Whether `token` opens `version`: well-formed, for a site id, unexpired, and its MAC matches. */
  valid(token: string, version: string): boolean {
    const m = TOKEN.exec(token);
    if (!m || !SiteIdSchema.safeParse(m[1]).success || Number(m[2]) * 1000 <= this.now()) return false;
    const given = Buffer.from(m[3]!, 'base64url');
    const expected = this.mac(version, m[1]!, m[2]!);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}
