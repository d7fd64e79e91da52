// The device side of zero-touch provisioning: a new edge holds only a claim token. It makes a P-256
// key that never leaves it, sends a CSR with the claim token and its serial, and stores what the
// cloud answers (certificate, CA chain, broker endpoint, fleet signing key, the first bundle) in
// <dir>/data/identity, outside every release. The first bundle installs through the OTA path.
import 'reflect-metadata';
import { createPrivateKey, webcrypto } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { z } from 'zod';
import { SiteIdSchema } from '../../domain/contracts';
import { OtaNoticeSchema } from './messages';
import { fsyncPath } from '../../io/durable-file';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export const P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

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

const IdentitySchema = z.strictObject({ siteId: SiteIdSchema, mqttUrl: z.string(), serial: z.string(), provisionedAt: z.number() });
export type Identity = z.infer<typeof IdentitySchema>;

export function identityDir(agentDir: string): string {
  return join(agentDir, 'data', 'identity');
}

export function readIdentity(agentDir: string): Identity | null {
  const f = join(identityDir(agentDir), 'identity.json');
  return existsSync(f) ? IdentitySchema.parse(JSON.parse(readFileSync(f, 'utf8'))) : null;
}

/** A P-256 key pair and a CSR for `serial` (the subject's CN; the cloud sets the site id). */
export async function makeCsr(serial: string): Promise<{ csrPem: string; keyPem: string }> {
  const keys = (await webcrypto.subtle.generateKey(P256, true, ['sign', 'verify'])) as CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: `CN=${serial}`, keys, signingAlgorithm: P256 });
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as webcrypto.CryptoKey));
  const keyPem = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' }).toString();
  return { csrPem: csr.toString('pem'), keyPem };
}

export interface ProvisionOptions {
  dir: string;
  /** Cloud API base, e.g. https://cloud.example/api/v1. */
  apiUrl: string;
  claimToken: string;
  serial: string;
  /** CA to trust for an https apiUrl. */
  ca?: string | Buffer;
}

export class ProvisioningError extends Error {
  override readonly name = 'ProvisioningError';
}

/** Claims the device; writes the identity files; returns the identity and the first bundle notice. */
export async function provisionDevice(o: ProvisionOptions): Promise<Identity & { bundle: ProvisionResponse['bundle'] }> {
  const { csrPem, keyPem } = await makeCsr(o.serial);
  const res = await fetch(`${o.apiUrl.replace(/\/+$/, '')}/ota/provision`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ claimToken: o.claimToken, serial: o.serial, csr: csrPem }),
  });
  const text = await res.text();
  if (!res.ok) throw new ProvisioningError(`provisioning refused: HTTP ${res.status} ${text.slice(0, 300)}`);
  const answer = ProvisionResponseSchema.parse(JSON.parse(text));
  const dir = identityDir(o.dir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const write = (name: string, content: string, mode = 0o644) => {
    writeFileSync(join(dir, `${name}.new`), content, { mode });
    renameSync(join(dir, `${name}.new`), join(dir, name));
  };
  write('client.key', keyPem, 0o600);
  write('client.crt', answer.certificate);
  write('ca.crt', answer.caChain);
  write('fleet-signing.pub', answer.fleetKey);
  const identity: Identity = { siteId: answer.siteId, mqttUrl: answer.mqttUrl, serial: o.serial, provisionedAt: Date.now() };
  // identity.json last: its presence means "provisioned", so a crash before it provisions again.
  write('identity.json', JSON.stringify(identity, null, 2));
  fsyncPath(dir);
  return { ...identity, bundle: answer.bundle };
}
