// The cloud side of zero-touch provisioning: claim tokens (stored as SHA-256, one use,
// with an expiry), an allow-list of device serials, and the fleet CA that signs each device's
// P-256 client certificate with the site id as CN (what Mosquitto's use_identity_as_username and
// our aedes broker's identityAsUsername read). The CA key lives in <dataDir>/ota (mode 0600).
import 'reflect-metadata';
import { createHash, createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import type { CloudDb } from '../cloud-db/cloud-db';
import { P256, ProvisionRequestSchema, type ProvisionRequest, type ProvisionResponse } from './provisioning-client';
import { otaDir } from './signing-key';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const subtle = webcrypto.subtle;
const DAY = 86_400_000;

export interface FleetCa {
  certPem: string;
  cert: x509.X509Certificate;
  key: webcrypto.CryptoKey;
}

function pemOfPkcs8(der: ArrayBuffer): string {
  return createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' }).toString();
}

/** Loads <dataDir>/ota/fleet-ca.{crt,key}, creating a P-256 CA valid 20 years on first use. */
export async function loadOrCreateFleetCa(cloudDataDir: string): Promise<FleetCa> {
  const dir = otaDir(cloudDataDir);
  const certPath = join(dir, 'fleet-ca.crt');
  const keyPath = join(dir, 'fleet-ca.key');
  if (!existsSync(certPath) || !existsSync(keyPath)) {
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
  const certPem = readFileSync(certPath, 'utf8');
  const der = createPrivateKey(readFileSync(keyPath)).export({ format: 'der', type: 'pkcs8' });
  const key = await subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  return { certPem, cert: new x509.X509Certificate(certPem), key };
}

/** Signs a certificate for `cn` (a site id, or the broker's host name with serverAuth). */
export async function issueCertificate(ca: FleetCa, publicKey: x509.PublicKey | CryptoKey, cn: string, usage: 'client' | 'server', days = 825, altNames: string[] = []): Promise<x509.X509Certificate> {
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
  constructor(readonly status: 400 | 403 | 409, readonly code: string, message: string) {
    super(message);
  }
}

export interface ProvisioningOptions {
  db: CloudDb;
  /** The fleet CA, or how to load it on first use (a cloud that never provisions makes none). */
  ca: FleetCa | (() => Promise<FleetCa>);
  fleetKeyPem: string | (() => string);
  mqttUrl: string;
  /** The notice of the bundle a newly provisioned site should install, or null. */
  currentBundle: (siteId: string) => ProvisionResponse['bundle'];
  now?: () => number;
}

const tokenHash = (t: string) => createHash('sha256').update(t, 'utf8').digest('hex');

export class ProvisioningService {
  private readonly now: () => number;
  constructor(private readonly o: ProvisioningOptions) {
    this.now = o.now ?? Date.now;
  }

  allowSerials(serials: readonly string[], note?: string): number {
    const ins = this.o.db.prepare('INSERT OR IGNORE INTO ota_serials (serial, created_at, note) VALUES (?, ?, ?)');
    let n = 0;
    this.o.db.transaction(() => {
      for (const s of serials) n += ins.run(s, this.now(), note ?? null).changes;
    })();
    return n;
  }

  /** A claim token for one site: shown once, stored as its hash, one use, valid `ttlMs`. */
  createClaim(siteId: string, ttlMs: number, by: string | null): { token: string; expiresAt: number } {
    const token = randomBytes(24).toString('base64url');
    const expiresAt = this.now() + ttlMs;
    this.o.db.prepare('INSERT INTO ota_claims (token_hash, site_id, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?)').run(tokenHash(token), siteId, by, this.now(), expiresAt);
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
    if (!db.prepare('SELECT 1 FROM ota_serials WHERE serial = ?').get(req.serial)) {
      throw new ProvisioningError(403, 'serial_not_allowed', `serial ${req.serial} is not on the allow-list`);
    }
    // Claim check and use in one transaction: two devices racing with one token, only one wins.
    const claim = db.transaction(() => {
      const c = db.prepare('SELECT * FROM ota_claims WHERE token_hash = ?').get(tokenHash(req.claimToken)) as
        | { site_id: string; expires_at: number; used_at: number | null }
        | undefined;
      if (!c) throw new ProvisioningError(403, 'claim_invalid', 'unknown claim token');
      if (c.used_at !== null) throw new ProvisioningError(409, 'claim_used', 'this claim token was already used');
      if (c.expires_at <= this.now()) throw new ProvisioningError(403, 'claim_expired', 'this claim token has expired');
      if (db.prepare('SELECT 1 FROM ota_devices WHERE serial = ?').get(req.serial)) throw new ProvisioningError(409, 'serial_provisioned', `serial ${req.serial} is already provisioned`);
      db.prepare('UPDATE ota_claims SET used_at = ?, used_serial = ? WHERE token_hash = ?').run(this.now(), req.serial, tokenHash(req.claimToken));
      return c;
    })();
    const ca = typeof this.o.ca === 'function' ? await this.o.ca() : this.o.ca;
    const cert = await issueCertificate(ca, csr.publicKey, claim.site_id, 'client');
    db.prepare('INSERT INTO ota_devices (serial, site_id, certificate_serial, issued_at) VALUES (?, ?, ?, ?)').run(req.serial, claim.site_id, cert.serialNumber, this.now());
    return {
      siteId: claim.site_id,
      certificate: cert.toString('pem'),
      caChain: ca.certPem,
      mqttUrl: this.o.mqttUrl,
      fleetKey: typeof this.o.fleetKeyPem === 'function' ? this.o.fleetKeyPem() : this.o.fleetKeyPem,
      bundle: this.o.currentBundle(claim.site_id),
      serial: req.serial,
    };
  }
}
