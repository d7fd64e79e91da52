// The cloud side of zero-touch provisioning: claim tokens (stored as SHA-256, one use,
// with an expiry), an allow-list of device serials, and the fleet CA that signs each device's
// P-256 client certificate with the site id as CN (what Mosquitto's use_identity_as_username and
// our aedes broker's identityAsUsername read). The CA key lives in <dataDir>/ota (mode 0600), or
// off the host (README, "Offline signing"): then the cloud cannot sign and provisioning and renewal
// answer 503 ca_offline until the CA key is brought back or the certificate is signed offline with
// `lifo4 cert sign --ca-key FILE`. Device certificates last DEVICE_CERT_DAYS and are renewed by the
// agent (POST /ota/renew) within RENEW_WITHIN_DAYS of their end; revocations.ts holds the deny list.
import 'reflect-metadata';
import { createHash, createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { sql } from 'kysely';
import { DEFAULT_ORG_ID, type CloudDb } from '../cloud-db/cloud-db';
import { DEVICE_CERT_DAYS, P256, ProvisionRequestSchema, RENEW_WITHIN_DAYS, RenewRequestSchema, type ProvisionRequest, type ProvisionResponse, type RenewResponse } from './provisioning-client';
import { certificateRecord, recordCertificate } from './revocations';
import { otaDir } from './signing-key';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const subtle = webcrypto.subtle;
const DAY = 86_400_000;

export { DEVICE_CERT_DAYS, RENEW_WITHIN_DAYS };

/** The CA's certificate is here but its key is not: the CA signs off this host. */
export class CaOfflineError extends Error {
  override readonly name = 'CaOfflineError';
}

export interface FleetCa {
  certPem: string;
  cert: x509.X509Certificate;
  key: webcrypto.CryptoKey;
}

function pemOfPkcs8(der: ArrayBuffer): string {
  return createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' }).toString();
}

export function fleetCaPaths(cloudDataDir: string): { certPath: string; keyPath: string } {
  const dir = otaDir(cloudDataDir);
  return { certPath: join(dir, 'fleet-ca.crt'), keyPath: join(dir, 'fleet-ca.key') };
}

/** Loads a CA from its certificate and key files (an offline signer gives the key by path). */
export async function loadFleetCa(certPath: string, keyPath: string): Promise<FleetCa> {
  const certPem = readFileSync(certPath, 'utf8');
  const der = createPrivateKey(readFileSync(keyPath)).export({ format: 'der', type: 'pkcs8' });
  const key = await subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  return { certPem, cert: new x509.X509Certificate(certPem), key };
}

/**
 * Loads <dataDir>/ota/fleet-ca.{crt,key}, creating a P-256 CA valid 20 years on first use. A
 * certificate without its key is a CA kept offline: never replaced by a new one (every device
 * trusts the old), CaOfflineError instead.
 */
export async function loadOrCreateFleetCa(cloudDataDir: string): Promise<FleetCa> {
  const dir = otaDir(cloudDataDir);
  const { certPath, keyPath } = fleetCaPaths(cloudDataDir);
  if (existsSync(certPath) && !existsSync(keyPath)) throw new CaOfflineError(`the fleet CA key is not on this host (${keyPath}): sign device certificates offline (lifo4 cert sign --ca-key FILE)`);
  if (!existsSync(certPath)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const keys = (await subtle.generateKey(P256, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: randomBytes(16).toString('hex'),
      name: 'CN=lifo4 fleet CA',
      notBefore: new Date(Date.now() - DAY),
      notAfter: new Date(Date.now() + 20 * 365 * DAY),
      keys: keys as unknown as CryptoKeyPair,
      signingAlgorithm: P256,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as unknown as CryptoKey),
      ],
    });
    writeFileSync(`${keyPath}.new`, pemOfPkcs8(await subtle.exportKey('pkcs8', keys.privateKey)), { mode: 0o600 });
    writeFileSync(certPath, cert.toString('pem'));
    renameSync(`${keyPath}.new`, keyPath);
  }
  return loadFleetCa(certPath, keyPath);
}

/** Signs a certificate for `cn` (a site id, or the broker's host name with serverAuth). */
export async function issueCertificate(ca: FleetCa, publicKey: x509.PublicKey | CryptoKey, cn: string, usage: 'client' | 'server', days = DEVICE_CERT_DAYS, altNames: string[] = []): Promise<x509.X509Certificate> {
  const ext: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
    new x509.ExtendedKeyUsageExtension([usage === 'client' ? x509.ExtendedKeyUsage.clientAuth : x509.ExtendedKeyUsage.serverAuth]),
    await x509.AuthorityKeyIdentifierExtension.create(ca.cert, false),
  ];
  if (altNames.length > 0) {
    ext.push(new x509.SubjectAlternativeNameExtension(altNames.map((n) => (/^[\d.]+$/.test(n) ? { type: 'ip' as const, value: n } : { type: 'dns' as const, value: n }))));
  }
  return x509.X509CertificateGenerator.create({
    serialNumber: randomBytes(16).toString('hex'),
    subject: `CN=${cn}`,
    issuer: ca.cert.subject,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + days * DAY),
    signingAlgorithm: P256,
    publicKey,
    signingKey: ca.key as unknown as CryptoKey,
    extensions: ext,
  });
}

export class ProvisioningError extends Error {
  override readonly name = 'ProvisioningError';
  constructor(readonly status: 400 | 403 | 409 | 503, readonly code: string, message: string) {
    super(message);
  }
}

export interface ProvisioningOptions {
  db: CloudDb;
  /** The fleet CA, or how to load it on first use (a cloud that never provisions makes none). */
  ca: FleetCa | (() => Promise<FleetCa>);
  /** The fleet's public key (PEM) handed to devices, or null when none exists (no bundle was ever signed). */
  fleetKeyPem: string | (() => string | null);
  mqttUrl: string;
  /** The notice of the bundle a newly provisioned site should install, or null. */
  currentBundle: (siteId: string) => ProvisionResponse['bundle'];
  now?: () => number;
}

const tokenHash = (t: string) => createHash('sha256').update(t, 'utf8').digest('hex');

// One answer for an unknown serial and a wrong claim token, so the endpoint does not tell which
// serials are on the allow-list; both lookups always run.
const REFUSED = () => new ProvisioningError(403, 'provisioning_refused', 'the claim token or the serial is not accepted');

export class ProvisioningService {
  private readonly now: () => number;
  constructor(private readonly o: ProvisioningOptions) {
    this.now = o.now ?? Date.now;
  }

  allowSerials(serials: readonly string[], note?: string): Promise<number> {
    return this.o.db.tx(async (db) => {
      let n = 0;
      for (const s of serials) {
        n += await db.run(sql`INSERT INTO ota_serials (serial, created_at, note) VALUES (${s}, ${this.now()}, ${note ?? null}) ON CONFLICT (serial) DO NOTHING`);
      }
      return n;
    });
  }

  /** A claim token for one site: shown once, stored as its hash, one use, valid `ttlMs`. */
  async createClaim(siteId: string, ttlMs: number, by: string | null, orgId: string = DEFAULT_ORG_ID): Promise<{ token: string; expiresAt: number }> {
    const token = randomBytes(24).toString('base64url');
    const expiresAt = this.now() + ttlMs;
    await this.o.db.run(sql`INSERT INTO ota_claims (token_hash, site_id, created_by, created_at, expires_at, org_id)
      VALUES (${tokenHash(token)}, ${siteId}, ${by}, ${this.now()}, ${expiresAt}, ${orgId})`);
    return { token, expiresAt };
  }

  async provision(input: unknown): Promise<ProvisionResponse & { serial: string }> {
    const r = ProvisionRequestSchema.safeParse(input);
    if (!r.success) throw new ProvisioningError(400, 'invalid_request', r.error.issues[0]?.message ?? 'invalid provisioning request');
    const req: ProvisionRequest = r.data;
    const db = this.o.db;
    let csr: x509.Pkcs10CertificateRequest;
    try {
      csr = new x509.Pkcs10CertificateRequest(req.csr);
    } catch {
      throw new ProvisioningError(400, 'invalid_csr', 'csr is not a PEM PKCS#10 certificate request');
    }
    if (!(await csr.verify())) throw new ProvisioningError(400, 'invalid_csr', 'the CSR is not signed by its own key');
    const alg = csr.publicKey.algorithm as EcKeyAlgorithm;
    if (alg.name !== 'ECDSA' || alg.namedCurve !== 'P-256') throw new ProvisioningError(400, 'invalid_csr', 'the device key must be ECDSA P-256');
    const fleetKey = typeof this.o.fleetKeyPem === 'function' ? this.o.fleetKeyPem() : this.o.fleetKeyPem;
    if (fleetKey === null) throw new ProvisioningError(503, 'no_fleet_key', 'this cloud has no fleet signing key yet: build a bundle first (lifo4 image build)');
    const ca = await this.ca();
    // Claim check and use in one transaction: two devices racing with one token, only one wins.
    const claim = await db.tx(async (t) => {
      const allowed = (await t.one(sql`SELECT 1 AS n FROM ota_serials WHERE serial = ${req.serial}`)) !== undefined;
      const c = await t.one(sql<{ site_id: string; expires_at: number; used_at: number | null; org_id: string | null }>`SELECT * FROM ota_claims WHERE token_hash = ${tokenHash(req.claimToken)}`);
      if (!c || !allowed) throw REFUSED();
      if (c.used_at !== null) throw new ProvisioningError(409, 'claim_used', 'this claim token was already used');
      if (c.expires_at <= this.now()) throw new ProvisioningError(403, 'claim_expired', 'this claim token has expired');
      if (await t.one(sql`SELECT 1 AS n FROM ota_devices WHERE serial = ${req.serial}`)) throw new ProvisioningError(409, 'serial_provisioned', `serial ${req.serial} is already provisioned`);
      // Only the use that finds the token unused wins (another cloud process may be using it now).
      const used = await t.run(sql`UPDATE ota_claims SET used_at = ${this.now()}, used_serial = ${req.serial} WHERE token_hash = ${tokenHash(req.claimToken)} AND used_at IS NULL`);
      if (used === 0) throw new ProvisioningError(409, 'claim_used', 'this claim token was already used');
      // The site is the claim's organisation's from now on, whoever registered its id before.
      const orgId = c.org_id ?? DEFAULT_ORG_ID;
      await t.run(sql`INSERT INTO sites (id, org_id, name, created_at) VALUES (${c.site_id}, ${orgId}, ${c.site_id}, ${this.now()})
        ON CONFLICT (id) DO UPDATE SET org_id = excluded.org_id`);
      return c;
    });
    const cert = await issueCertificate(ca, csr.publicKey, claim.site_id, 'client');
    await db.tx(async (t) => {
      await t.run(sql`INSERT INTO ota_devices (serial, site_id, certificate_serial, issued_at) VALUES (${req.serial}, ${claim.site_id}, ${cert.serialNumber}, ${this.now()})`);
      await recordCertificate(t, { serial: cert.serialNumber, siteId: claim.site_id, deviceSerial: req.serial, issuedAt: this.now(), notAfter: cert.notAfter.getTime() });
    });
    return {
      siteId: claim.site_id,
      certificate: cert.toString('pem'),
      caChain: ca.certPem,
      mqttUrl: this.o.mqttUrl,
      fleetKey,
      bundle: this.o.currentBundle(claim.site_id),
      serial: req.serial,
    };
  }

  private async ca(): Promise<FleetCa> {
    try {
      return typeof this.o.ca === 'function' ? await this.o.ca() : this.o.ca;
    } catch (err) {
      if (err instanceof CaOfflineError) throw new ProvisioningError(503, 'ca_offline', err.message);
      throw err;
    }
  }

  /**
   * A new certificate for the key of a current one: the CSR must carry the same public key as the
   * certificate (its signature proves the device holds that key), the certificate must be one this
   * cloud issued, unrevoked and unexpired. A replayed request only yields a certificate for a key
   * the replayer does not hold.
   */
  async renew(input: unknown): Promise<RenewResponse & { siteId: string; deviceSerial: string }> {
    const r = RenewRequestSchema.safeParse(input);
    if (!r.success) throw new ProvisioningError(400, 'invalid_request', r.error.issues[0]?.message ?? 'invalid renewal request');
    let current: x509.X509Certificate;
    let csr: x509.Pkcs10CertificateRequest;
    try {
      current = new x509.X509Certificate(r.data.certificate);
      csr = new x509.Pkcs10CertificateRequest(r.data.csr);
    } catch {
      throw new ProvisioningError(400, 'invalid_request', 'certificate and csr must be PEM');
    }
    const ca = await this.ca();
    const refused = () => new ProvisioningError(403, 'renewal_refused', 'this certificate cannot be renewed: provision the device again with a new claim');
    const record = await certificateRecord(this.o.db, current.serialNumber);
    if (!record || record.revoked_at !== null || current.notAfter.getTime() <= this.now()) throw refused();
    if (!(await current.verify({ publicKey: ca.cert.publicKey, signatureOnly: true }))) throw refused();
    if (!(await csr.verify()) || Buffer.compare(Buffer.from(csr.publicKey.rawData), Buffer.from(current.publicKey.rawData)) !== 0) throw refused();
    const cert = await issueCertificate(ca, csr.publicKey, record.site_id, 'client');
    await this.o.db.tx(async (t) => {
      await recordCertificate(t, { serial: cert.serialNumber, siteId: record.site_id, deviceSerial: record.device_serial, issuedAt: this.now(), notAfter: cert.notAfter.getTime() });
      await t.run(sql`UPDATE ota_devices SET certificate_serial = ${cert.serialNumber}, issued_at = ${this.now()} WHERE serial = ${record.device_serial}`);
    });
    return { certificate: cert.toString('pem'), caChain: ca.certPem, siteId: record.site_id, deviceSerial: record.device_serial };
  }
}
