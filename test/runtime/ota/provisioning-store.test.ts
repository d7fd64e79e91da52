// What provisioning keeps in the cloud database, on both back ends: the serial allow-list, claim
// tokens that are used once even when two devices (through two cloud processes) race with one,
// the device certificates, and revocation as the broker asks for it.
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import 'reflect-metadata';
import type { CloudDb } from '../../../runtime/cloud-db/cloud-db';
import { loadOrCreateFleetCa, ProvisioningError, ProvisioningService, type FleetCa } from '../../../runtime/ota/provisioning';
import { makeCsr } from '../../../runtime/ota/provisioning-client';
import { certificateRecord, revocationCheck, revokeSite } from '../../../runtime/ota/revocations';
import { forEachDb } from '../../cloud-db/targets';
import { removeDir, tempDir } from './ota-fixtures';

forEachDb('provisioning records', (open) => {
  let root: string;
  let ca: FleetCa;
  let db: CloudDb;
  let service: ProvisioningService;

  before(async function () {
    this.timeout(30_000);
    root = tempDir('provisioning-store');
    ca = await loadOrCreateFleetCa(join(root, 'cloud'));
  });
  after(() => removeDir(root));
  beforeEach(async () => {
    db = await open();
    service = new ProvisioningService({ db, ca, fleetKeyPem: 'fleet key', mqttUrl: 'mqtts://127.0.0.1', currentBundle: () => null });
  });
  afterEach(() => db.close());

  it('adds each serial to the allow-list once', async () => {
    assert.equal(await service.allowSerials(['SN-1', 'SN-2']), 2);
    assert.equal(await service.allowSerials(['SN-2', 'SN-3']), 1);
  });

  it('uses a claim token once when two devices race with it (the other is told claim_used)', async () => {
    await service.allowSerials(['SN-A', 'SN-B']);
    const other = new ProvisioningService({ db, ca, fleetKeyPem: 'fleet key', mqttUrl: 'mqtts://127.0.0.1', currentBundle: () => null });
    const claim = await service.createClaim('site-race', 3_600_000, 'test');
    const [a, b] = await Promise.all([makeCsr('SN-A'), makeCsr('SN-B')]);
    const results = await Promise.allSettled([
      service.provision({ claimToken: claim.token, serial: 'SN-A', csr: a.csrPem }),
      other.provision({ claimToken: claim.token, serial: 'SN-B', csr: b.csrPem }),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.equal(won.length, 1, JSON.stringify(results.map((r) => r.status)));
    assert.ok(lost[0]?.reason instanceof ProvisioningError, String(lost[0]?.reason));
    assert.equal((lost[0].reason as ProvisioningError).code, 'claim_used');
  });

  it('records the device certificate, and revoking the site revokes it and its password login for the broker', async () => {
    await service.allowSerials(['SN-R']);
    const claim = await service.createClaim('site-rev', 3_600_000, 'test');
    const answer = await service.provision({ claimToken: claim.token, serial: 'SN-R', csr: (await makeCsr('SN-R')).csrPem });
    const { X509Certificate } = await import('@peculiar/x509');
    const serial = new X509Certificate(answer.certificate).serialNumber;
    const isRevoked = revocationCheck(() => db);
    assert.equal((await certificateRecord(db, serial))?.site_id, 'site-rev');
    assert.equal(await isRevoked({ username: 'site-rev', certificateSerial: serial }), false);
    assert.equal(await revokeSite(db, 'site-rev', 'admin', 'stolen'), 1);
    assert.notEqual((await certificateRecord(db, serial))?.revoked_at, null);
    assert.equal(await isRevoked({ username: 'site-rev', certificateSerial: serial }), true);
    assert.equal(await isRevoked({ username: 'site-rev', certificateSerial: undefined }), true, 'nor by password');
    assert.equal(await revokeSite(db, 'site-rev', 'admin', 'again'), 0, 'revoked once');
    assert.equal(await isRevoked({ username: 'site-other', certificateSerial: undefined }), false);
  });
});
