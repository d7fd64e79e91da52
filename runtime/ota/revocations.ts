// Device certificates and their deny list in cloud.db: every certificate issued to a site is
// recorded with its expiry; revoking a site (`lifo4 site revoke`, POST /sites/:id/revoke) marks all
// of them revoked and refuses the site's password login. The broker asks isRevoked on every CONNECT
// (broker.ts), renewal refuses a revoked certificate (provisioning.ts).
import { sql } from 'kysely';
import type { CloudDb } from '../cloud-db/cloud-db';
import { normalSerial } from '../broker/broker';

export interface IssuedCertificate {
  serial: string;
  siteId: string;
  deviceSerial: string;
  issuedAt: number;
  notAfter: number;
}

export async function recordCertificate(db: CloudDb, c: IssuedCertificate): Promise<void> {
  await db.run(sql`INSERT INTO device_certificates (serial, site_id, device_serial, issued_at, not_after)
    VALUES (${normalSerial(c.serial)}, ${c.siteId}, ${c.deviceSerial}, ${c.issuedAt}, ${c.notAfter})`);
}

export interface CertificateRecord {
  serial: string;
  site_id: string;
  device_serial: string;
  issued_at: number;
  not_after: number;
  revoked_at: number | null;
}

export function certificateRecord(db: CloudDb, serial: string): Promise<CertificateRecord | undefined> {
  return db.one(sql<CertificateRecord>`SELECT * FROM device_certificates WHERE serial = ${normalSerial(serial)}`);
}

/** Revokes every certificate of the site and its password login; resolves to how many certificates. */
export function revokeSite(db: CloudDb, siteId: string, by: string | null, reason: string | null, now = Date.now()): Promise<number> {
  return db.tx(async (t) => {
    const n = await t.run(sql`UPDATE device_certificates SET revoked_at = ${now}, revoked_by = ${by}, reason = ${reason} WHERE site_id = ${siteId} AND revoked_at IS NULL`);
    await t.run(sql`INSERT INTO revoked_sites (site_id, revoked_at, revoked_by, reason) VALUES (${siteId}, ${now}, ${by}, ${reason})
      ON CONFLICT (site_id) DO UPDATE SET revoked_at = excluded.revoked_at, revoked_by = excluded.revoked_by, reason = excluded.reason`);
    return n;
  });
}

/**
 * The broker's check: a certificate the cloud issued answers by its own revocation; otherwise (a
 * password login, or a certificate the cloud never recorded such as the broker's own or the cloud
 * account's) the username answers: a revoked site stays out.
 */
export function revocationCheck(db: () => CloudDb | Promise<CloudDb>): (who: { username: string; certificateSerial: string | undefined }) => Promise<boolean> {
  return async ({ username, certificateSerial }) => {
    const d = await db();
    if (certificateSerial !== undefined) {
      const row = await d.one(sql<{ revoked_at: number | null }>`SELECT revoked_at FROM device_certificates WHERE serial = ${normalSerial(certificateSerial)}`);
      if (row !== undefined) return row.revoked_at !== null;
    }
    return (await d.one(sql`SELECT 1 AS n FROM revoked_sites WHERE site_id = ${username}`)) !== undefined;
  };
}
