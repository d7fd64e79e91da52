// The device side of zero-touch provisioning: a new edge holds only a claim token. It makes a P-256
// key that never leaves it, sends a CSR with the claim token and its serial, and stores what the
// cloud answers (certificate, CA chain, broker endpoint, fleet signing key, the first bundle) in
// <dir>/data/identity, outside every release. The first bundle installs through the OTA path.
//
// The device trusts nothing it is told at provisioning that it did not already hold: it ships with
// (or is given) the fleet's signing public key and the fleet CA's certificate, talks to the cloud
// over https verified with that CA (and the system's roots), and refuses an answer whose signing
// key or CA differs, whose certificate is not for its own key from that CA, or whose broker is not
// mqtts. Plain http and an unverified CA are for a lab only (`insecure`). The certificate is
// renewed over the same channel before it expires (renewCertificate).
import 'reflect-metadata';
import { createPrivateKey, createPublicKey, webcrypto, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import * as x509 from '@peculiar/x509';
import { z } from 'zod';
import { SiteIdSchema } from '../../domain/contracts';
import { OtaNoticeSchema } from './messages';
import { fsyncPath } from '../../io/durable-file';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export const P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** Lifetime of a device's client certificate: short enough that a lost device ages out, renewed well before. */
export const DEVICE_CERT_DAYS = 180;
/** The agent renews its certificate once fewer than this many days are left. */
export const RENEW_WITHIN_DAYS = 30;
const DAY = 86_400_000;

export const ProvisionRequestSchema = z.strictObject({
  claimToken: z.string().min(16).max(128),
  serial: z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'letters, digits, . _ : - (at most 128)'),
  csr: z.string().min(100).max(8192),
});
export type ProvisionRequest = z.infer<typeof ProvisionRequestSchema>;

export const ProvisionResponseSchema = z.strictObject({
  siteId: SiteIdSchema,
  certificate: z.string(),
  caChain: z.string(),
  mqttUrl: z.string(),
  fleetKey: z.string(),
  /** The notice of the site's current bundle, installed through the OTA path; null when none exists. */
  bundle: OtaNoticeSchema.nullable(),
});
export type ProvisionResponse = z.infer<typeof ProvisionResponseSchema>;

/** Renewal: the current certificate and a CSR for the same key (its signature proves possession). */
export const RenewRequestSchema = z.strictObject({ certificate: z.string().min(100).max(8192), csr: z.string().min(100).max(8192) });
export const RenewResponseSchema = z.strictObject({ certificate: z.string(), caChain: z.string() });
export type RenewResponse = z.infer<typeof RenewResponseSchema>;

const IdentitySchema = z.strictObject({
  siteId: SiteIdSchema, mqttUrl: z.string(), serial: z.string(), provisionedAt: z.number(),
  /** Where the device was provisioned, and renews its certificate. */
  apiUrl: z.string().optional(),
});
export type Identity = z.infer<typeof IdentitySchema>;

export function identityDir(agentDir: string): string {
  return join(agentDir, 'data', 'identity');
}

export function readIdentity(agentDir: string): Identity | null {
  const f = join(identityDir(agentDir), 'identity.json');
  return existsSync(f) ? IdentitySchema.parse(JSON.parse(readFileSync(f, 'utf8'))) : null;
}

/** A P-256 key pair (new, or the given PKCS#8 PEM) and a CSR for `serial` (the subject's CN; the cloud sets the site id). */
export async function makeCsr(serial: string, existingKeyPem?: string): Promise<{ csrPem: string; keyPem: string }> {
  const subtle = webcrypto.subtle;
  const keys = (existingKeyPem === undefined
    ? await subtle.generateKey(P256, true, ['sign', 'verify'])
    : {
        privateKey: await subtle.importKey('pkcs8', createPrivateKey(existingKeyPem).export({ format: 'der', type: 'pkcs8' }), P256, true, ['sign']),
        publicKey: await subtle.importKey('spki', createPublicKey(existingKeyPem).export({ format: 'der', type: 'spki' }), P256, true, ['verify']),
      }) as CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: `CN=${serial}`, keys, signingAlgorithm: P256 });
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as webcrypto.CryptoKey));
  const keyPem = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' }).toString();
  return { csrPem: csr.toString('pem'), keyPem };
}

/** What the device already trusts before it is provisioned. */
export interface DeviceTrust {
  /** The fleet's Ed25519 signing public key (SPKI PEM). */
  fleetKeyPem: string;
  /** The fleet CA's certificate (PEM); may be missing only when `insecure`. */
  caPem?: string;
  /** Lab only: allow http and mqtt, and adopt the CA the cloud sends when none is trusted. */
  insecure: boolean;
}

export interface ProvisionOptions extends DeviceTrust {
  dir: string;
  /** Cloud API base, e.g. https://cloud.example/api/v1. */
  apiUrl: string;
  claimToken: string;
  serial: string;
}

export class ProvisioningError extends Error {
  override readonly name = 'ProvisioningError';
}

/** https only, unless insecure; with a trusted CA the server may present a certificate from it or from a public root. */
function checkedUrl(apiUrl: string, insecure: boolean): URL {
  let u: URL;
  try {
    u = new URL(apiUrl);
  } catch {
    throw new ProvisioningError(`provisioning URL ${apiUrl} is not a URL`);
  }
  if (u.protocol !== 'https:' && !(insecure && u.protocol === 'http:')) {
    throw new ProvisioningError(`provisioning URL ${apiUrl} must be https (plain http only with the lab flag --insecure-provisioning)`);
  }
  return u;
}

/** POSTs JSON with node:http(s), so that the trusted CA reaches the TLS handshake. */
function postJson(url: URL, body: unknown, caPem: string | undefined, timeoutMs = 30_000): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const payload = Buffer.from(JSON.stringify(body));
    const opts = { method: 'POST', timeout: timeoutMs, headers: { 'content-type': 'application/json', 'content-length': String(payload.length) } };
    const onResponse = (res: import('node:http').IncomingMessage) => {
      const chunks: Buffer[] = [];
      let n = 0;
      res.on('data', (c: Buffer) => {
        n += c.length;
        if (n > 1_000_000) res.destroy(new Error('answer larger than 1 MB'));
        else chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    };
    const req = url.protocol === 'https:'
      ? httpsRequest(url, { ...opts, ...(caPem !== undefined ? { ca: [...rootCertificates, caPem] } : {}) }, onResponse)
      : httpRequest(url, opts, onResponse);
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url.origin} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

const spki = (k: KeyObject) => k.export({ type: 'spki', format: 'der' });

function sameKey(a: string, b: string): boolean {
  try {
    return spki(createPublicKey(a)).equals(spki(createPublicKey(b)));
  } catch {
    return false;
  }
}

function sameCertificate(a: string, b: string): boolean {
  try {
    return Buffer.from(new x509.X509Certificate(a).rawData).equals(Buffer.from(new x509.X509Certificate(b).rawData));
  } catch {
    return false;
  }
}

/** The certificate is for our key, for `cn`, and signed by the CA. */
async function checkCertificate(certPem: string, caPem: string, keyPem: string, cn: string): Promise<void> {
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(certPem);
  } catch {
    throw new ProvisioningError('the certificate in the answer is not PEM');
  }
  const ca = new x509.X509Certificate(caPem);
  if (!(await cert.verify({ publicKey: ca.publicKey, signatureOnly: true }))) throw new ProvisioningError('the certificate in the answer is not signed by the trusted fleet CA');
  if (!Buffer.from(cert.publicKey.rawData).equals(spki(createPublicKey(keyPem)))) throw new ProvisioningError('the certificate in the answer is not for this device\'s key');
  if (cert.subjectName.getField('CN')[0] !== cn) throw new ProvisioningError(`the certificate in the answer is not for site ${cn}`);
}

function identityWriter(agentDir: string): (name: string, content: string, mode?: number) => void {
  const dir = identityDir(agentDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return (name, content, mode = 0o644) => {
    writeFileSync(join(dir, `${name}.new`), content, { mode });
    renameSync(join(dir, `${name}.new`), join(dir, name));
  };
}

/** Claims the device; writes the identity files; returns the identity and the first bundle notice. */
export async function provisionDevice(o: ProvisionOptions): Promise<Identity & { bundle: ProvisionResponse['bundle'] }> {
  const url = checkedUrl(`${o.apiUrl.replace(/\/+$/, '')}/ota/provision`, o.insecure);
  if (o.caPem === undefined && !o.insecure) throw new ProvisioningError('provisioning needs the fleet CA certificate the device trusts (--ca FILE)');
  const { csrPem, keyPem } = await makeCsr(o.serial);
  const res = await postJson(url, { claimToken: o.claimToken, serial: o.serial, csr: csrPem }, o.caPem);
  if (res.status !== 200) throw new ProvisioningError(`provisioning refused: HTTP ${res.status} ${res.text.slice(0, 300)}`);
  let answer: ProvisionResponse;
  try {
    answer = ProvisionResponseSchema.parse(JSON.parse(res.text));
  } catch {
    throw new ProvisioningError('the provisioning answer is not what a cloud answers');
  }
  // What the cloud says is checked against what the device trusts; nothing is adopted.
  if (!sameKey(answer.fleetKey, o.fleetKeyPem)) throw new ProvisioningError('the provisioning answer names a fleet signing key other than the trusted one: refused');
  if (o.caPem !== undefined && !sameCertificate(answer.caChain, o.caPem)) throw new ProvisioningError('the provisioning answer names a CA other than the trusted one: refused');
  const mqtt = /^(mqtts?):\/\/[^/\s]+/.exec(answer.mqttUrl);
  if (!mqtt || (mqtt[1] !== 'mqtts' && !o.insecure)) throw new ProvisioningError(`the provisioning answer names broker ${answer.mqttUrl}: only mqtts:// (plain mqtt only with --insecure-provisioning)`);
  const caPem = o.caPem ?? answer.caChain;
  await checkCertificate(answer.certificate, caPem, keyPem, answer.siteId);
  const write = identityWriter(o.dir);
  write('client.key', keyPem, 0o600);
  write('client.crt', answer.certificate);
  write('ca.crt', caPem);
  write('fleet-signing.pub', o.fleetKeyPem);
  const dir = identityDir(o.dir);
  const identity: Identity = { siteId: answer.siteId, mqttUrl: answer.mqttUrl, serial: o.serial, provisionedAt: Date.now(), apiUrl: o.apiUrl };
  // identity.json last: its presence means "provisioned", so a crash before it provisions again.
  write('identity.json', JSON.stringify(identity, null, 2));
  fsyncPath(dir);
  return { ...identity, bundle: answer.bundle };
}

/** When the device's certificate ends (ms), or null when it holds none. */
export function certificateNotAfter(agentDir: string): number | null {
  const f = join(identityDir(agentDir), 'client.crt');
  return existsSync(f) ? new x509.X509Certificate(readFileSync(f, 'utf8')).notAfter.getTime() : null;
}

/**
 * Renews the device's certificate for the same key once fewer than RENEW_WITHIN_DAYS are left
 * (or always with `force`); the new one is checked like the first and replaces client.crt. Returns
 * whether it renewed.
 */
export async function renewCertificate(o: { dir: string; apiUrl: string; insecure: boolean; force?: boolean; now?: number }): Promise<boolean> {
  const identity = readIdentity(o.dir);
  const notAfter = certificateNotAfter(o.dir);
  if (!identity || notAfter === null) return false;
  if (!o.force && notAfter - (o.now ?? Date.now()) > RENEW_WITHIN_DAYS * DAY) return false;
  const dir = identityDir(o.dir);
  const keyPem = readFileSync(join(dir, 'client.key'), 'utf8');
  const caPem = readFileSync(join(dir, 'ca.crt'), 'utf8');
  const url = checkedUrl(`${o.apiUrl.replace(/\/+$/, '')}/ota/renew`, o.insecure);
  const { csrPem } = await makeCsr(identity.serial, keyPem);
  const res = await postJson(url, { certificate: readFileSync(join(dir, 'client.crt'), 'utf8'), csr: csrPem }, caPem);
  if (res.status !== 200) throw new ProvisioningError(`certificate renewal refused: HTTP ${res.status} ${res.text.slice(0, 300)}`);
  let answer: RenewResponse;
  try {
    answer = RenewResponseSchema.parse(JSON.parse(res.text));
  } catch {
    throw new ProvisioningError('the renewal answer is not what a cloud answers');
  }
  if (!sameCertificate(answer.caChain, caPem)) throw new ProvisioningError('the renewal answer names a CA other than the trusted one: refused');
  await checkCertificate(answer.certificate, caPem, keyPem, identity.siteId);
  identityWriter(o.dir)('client.crt', answer.certificate);
  fsyncPath(dir);
  return true;
}
