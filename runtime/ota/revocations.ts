// Device certificates and their deny list in cloud.db: every certificate issued to a site is
// recorded with its expiry; revoking a site (`lifo4 site revoke`, POST /sites/:id/revoke) marks all
// of them revoked and refuses the site's password login. The broker asks isRevoked on every CONNECT
// (broker.ts), renewal refuses a revoked certificate (provisioning.ts).
import type { CloudDb } from '../cloud-db/cloud-db';
import { normalSerial } from '../broker/broker';

export interface IssuedCertificate {
  serial: string;
  siteId: string;
  deviceSerial: string;
  issuedAt: number;
  notAfter: number;
}

export function recordCertificate(db: CloudDb, c: IssuedCertificate): void {
  db.prepare('INSERT INTO device_certificates (serial, site_id, device_serial, issued_at, not_after) VALUES (?, ?, ?, ?, ?)')
    .run(normalSerial(c.serial), c.siteId, c.deviceSerial, c.issuedAt, c.notAfter);
}

export interface CertificateRecord {
  serial: string;
  site_id: string;
  device_serial: string;
  issued_at: number;
  not_after: number;
  revoked_at: number | null;
}

export function certificateRecord(db: CloudDb, serial: string): CertificateRecord | undefined {
  return db.prepare('SELECT * FROM device_certificates WHERE serial = ?').get(normalSerial(serial)) as CertificateRecord | undefined;
}

/** Revokes every certificate of the site and its password login; returns how many certificates. */
export function revokeSite(db: CloudDb, siteId: string, by: string | null, reason: string | null, now = Date.now()): number {
  return db.transaction(() => {
    const n = db.prepare('UPDATE device_certificates SET revoked_at = ?, revoked_by = ?, reason = ? WHERE site_id = ? AND revoked_at IS NULL').run(now, by, reason, siteId).changes;
    db.prepare('INSERT OR REPLACE INTO revoked_sites (site_id, revoked_at, revoked_by, reason) VALUES (?, ?, ?, ?)').run(siteId, now, by, reason);
    return n;
  })();
}

/**
 * The broker's check: a certificate the cloud issued answers by its own revocation; otherwise (a
 * password login, or a certificate the cloud never recorded such as the broker's own or the cloud
 * account's) the username answers: a revoked site stays out.
 */
export function revocationCheck(db: () => CloudDb): (who: { username: string; certificateSerial: string | undefined }) => boolean {
  return ({ username, certificateSerial }) => {
    const d = db();
    if (certificateSerial !== undefined) {
      const row = d.prepare('SELECT revoked_at FROM device_certificates WHERE serial = ?').get(normalSerial(certificateSerial)) as { revoked_at: number | null } | undefined;
      if (row !== undefined) return row.revoked_at !== null;
    }
    return d.prepare('SELECT 1 FROM revoked_sites WHERE site_id = ?').get(username) !== undefined;
  };
}
