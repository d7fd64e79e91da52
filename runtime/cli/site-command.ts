// `lifo4 site revoke ID` and `lifo4 cert sign`: the device-certificate side of a site on the server
// itself. Revoking works on the cloud database directly (cloud.db or --database-url, also while the
// cloud runs), like `lifo4 user`; the broker refuses the site from its next CONNECT. `cert sign` is the offline signer: it
// signs a CSR with a CA key given by path, on a machine that need not be the cloud (README,
// "Offline signing").
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { SiteIdSchema } from '../../domain/contracts';
import { FIELDS, loadSettings } from '../../settings';
import { databaseUrlOption } from './user-command';

function fail(what: string, message: string): never {
  console.error(`lifo4 ${what}: ${message}`);
  process.exit(2);
}

export function addSiteCommand(program: Command): Command {
  const site = program.command('site').description("a site's device certificates: revoke");
  site
    .command('revoke')
    .description("revoke every device certificate of a site and refuse its broker password; a new device needs a new claim")
    .argument('<ID>', 'site id')
    .option('--reason <TEXT>', 'why, kept with the revocation')
    .addOption(new Option(`${FIELDS.dataDir.flag} <${FIELDS.dataDir.arg}>`, `${FIELDS.dataDir.describe} (env ${FIELDS.dataDir.env}, default ${String(FIELDS.dataDir.default)})`))
    .addOption(databaseUrlOption())
    .action(async (id: string, o: { reason?: string; dataDir?: string; databaseUrl?: string }) => {
      const siteId = SiteIdSchema.safeParse(id);
      if (!siteId.success) fail('site revoke', siteId.error.issues[0]?.message ?? 'invalid site id');
      const settings = loadSettings('cloud', {
        flags: { ...(o.dataDir !== undefined ? { dataDir: o.dataDir } : {}), ...(o.databaseUrl !== undefined ? { databaseUrl: o.databaseUrl } : {}) },
      });
      const [{ cloudDatabase, openCloudDb }, { revokeSite }, { AuditLog }] = await Promise.all([
        import('../cloud-db/cloud-db.js'), import('../ota/revocations.js'), import('../api/audit.js'),
      ]);
      const db = await openCloudDb(cloudDatabase(settings));
      try {
        const n = await revokeSite(db, siteId.data, 'cli', o.reason ?? null);
        await new AuditLog(db).write({ action: 'revokeSite', target: siteId.data, outcome: 'success', status: 200, details: { certificates: n, by: 'cli' } });
        console.log(`revoked site ${siteId.data}: ${n} device certificate(s); its broker password is refused from its next connection`);
      } finally {
        await db.close();
      }
    });
  return site;
}

export function addCertCommand(program: Command): Command {
  const cert = program.command('cert').description('the offline signer of device and broker certificates');
  cert
    .command('sign')
    .description('sign a PKCS#10 CSR with the fleet CA key given by path (the CA key need not be on the cloud host)')
    .requiredOption('--csr <FILE>', 'the CSR (PEM), e.g. what a device or the broker host made')
    .requiredOption('--cn <NAME>', 'the certificate\'s CN: a site id for a device, the host name for the broker')
    .requiredOption('--ca-key <FILE>', 'the fleet CA private key (PEM)')
    .requiredOption('--ca-cert <FILE>', 'the fleet CA certificate (PEM), e.g. <data-dir>/ota/fleet-ca.crt')
    .option('--usage <client|server>', 'client (a device) or server (the broker)', 'client')
    .option('--days <N>', 'validity in days (default the device lifetime)')
    .option('--san <NAME>', 'subjectAltName of a server certificate (DNS name or IP); repeat', (v: string, p: string[] | undefined) => [...(p ?? []), v])
    .requiredOption('--out <FILE>', 'where to write the certificate (PEM)')
    .action(async (o: { csr: string; cn: string; caKey: string; caCert: string; usage: string; days?: string; san?: string[]; out: string }) => {
      if (o.usage !== 'client' && o.usage !== 'server') fail('cert sign', '--usage must be client or server');
      if (o.usage === 'client' && !SiteIdSchema.safeParse(o.cn).success) fail('cert sign', `--cn ${o.cn}: a device certificate's CN is a site id, and "cloud" and "lifo4..." are reserved`);
      const [{ loadFleetCa, issueCertificate, DEVICE_CERT_DAYS }, x509] = await Promise.all([import('../ota/provisioning.js'), import('@peculiar/x509')]);
      const days = o.days !== undefined ? Number(o.days) : DEVICE_CERT_DAYS;
      if (!(Number.isInteger(days) && days >= 1 && days <= 825)) fail('cert sign', '--days must be a whole number from 1 to 825');
      const ca = await loadFleetCa(resolve(o.caCert), resolve(o.caKey));
      const csr = new x509.Pkcs10CertificateRequest(readFileSync(resolve(o.csr), 'utf8'));
      if (!(await csr.verify())) fail('cert sign', 'the CSR is not signed by its own key');
      const issued = await issueCertificate(ca, csr.publicKey, o.cn, o.usage, days, o.san ?? []);
      writeFileSync(resolve(o.out), issued.toString('pem'));
      console.log(`signed ${o.usage} certificate CN=${o.cn}, serial ${issued.serialNumber}, valid until ${issued.notAfter.toISOString()}: ${resolve(o.out)}`);
    });
  return cert;
}
