// Throwaway X.509 material for TLS and mTLS tests, made with the system's openssl: a CA, a server
// certificate for 127.0.0.1 / localhost signed by it, client certificates (CN = the name given,
// e.g. a site id) signed by it, and one client certificate from an unrelated CA that a broker
// requiring certificates must refuse. EC P-256 keys: quick to generate, accepted by Node and Mosquitto.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isExecutable, makeTempDir } from './service';

const run = promisify(execFile);
export const OPENSSL = '/usr/bin/openssl';

export function opensslAvailable(): boolean {
  return isExecutable(OPENSSL);
}

export interface KeyPair {
  /** PEM file paths. */
  cert: string;
  key: string;
}

export interface TestCerts {
  dir: string;
  /** The CA certificate (PEM path) clients and the broker trust. */
  ca: string;
  /** Server certificate with subjectAltName IP:127.0.0.1 and DNS:localhost. */
  server: KeyPair;
  /** Client certificates by name (CN = name), signed by the CA. */
  clients: Record<string, KeyPair>;
  /** A client certificate signed by another CA (CN = "untrusted"). */
  untrusted: KeyPair;
  /** File contents, for mqtt.js options ({ ca, cert, key } take buffers). */
  read(path: string): Buffer;
  /** Removes the directory. */
  remove(): void;
}

const DAYS = '2';
const NEW_EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function openssl(dir: string, args: string[]): Promise<void> {
  await run(OPENSSL, args, { cwd: dir });
}

async function selfSignedCa(dir: string, name: string): Promise<KeyPair> {
  const pair = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  await openssl(dir, [
    'req', '-x509', ...NEW_EC_KEY, '-keyout', pair.key, '-out', pair.cert, '-days', DAYS, '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return pair;
}

async function signed(dir: string, ca: KeyPair, file: string, cn: string, extensions: string): Promise<KeyPair> {
  const pair = { cert: join(dir, `${file}.crt`), key: join(dir, `${file}.key`) };
  const csr = join(dir, `${file}.csr`);
  const ext = join(dir, `${file}.ext`);
  writeFileSync(ext, `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyAgreement\n${extensions}\n`);
  await openssl(dir, ['req', ...NEW_EC_KEY, '-keyout', pair.key, '-out', csr, '-subj', `/CN=${cn}`]);
  await openssl(dir, [
    'x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', `0x${Date.now().toString(16)}${Math.floor(Math.random() * 1e6).toString(16)}`,
    '-days', DAYS, '-out', pair.cert, '-extfile', ext,
  ]);
  return pair;
}

/** Makes a CA, a server certificate, one client certificate per name, and an untrusted client certificate. */
export async function makeCerts(opts: { clients?: string[] } = {}): Promise<TestCerts> {
  const tmp = makeTempDir('certs');
  try {
    const dir = tmp.dir;
    const ca = await selfSignedCa(dir, 'ca');
    const server = await signed(dir, ca, 'server', '127.0.0.1', 'extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost');
    const clients: Record<string, KeyPair> = {};
    for (const name of opts.clients ?? ['client']) {
      if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new Error(`client certificate name "${name}": letters, digits, _ and - only`);
      clients[name] = await signed(dir, ca, `client-${name}`, name, 'extendedKeyUsage=clientAuth');
    }
    const otherCa = await selfSignedCa(dir, 'other-ca');
    const untrusted = await signed(dir, otherCa, 'untrusted', 'untrusted', 'extendedKeyUsage=clientAuth');
    return { dir, ca: ca.cert, server, clients, untrusted, read: (path) => readFileSync(path), remove: tmp.remove };
  } catch (err) {
    tmp.remove();
    throw err;
  }
}
