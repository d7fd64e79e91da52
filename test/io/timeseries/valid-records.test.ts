// Validate once: a record the ingest parsed is sealed, and the store takes exactly that object as
// valid; anything else is parsed by the store as before.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { TelemetryRecordSchema } from '../../../domain/contracts';
import { openSqliteStore } from '../../../io/timeseries/sqlite-store';
import { isSealedValidRecord, sealValidRecord } from '../../../io/timeseries/valid-records';
import { makeTempDir } from '../../services/service';
import { householdRecords } from './records';

describe('records sealed as valid by the ingest', () => {
  it('are frozen all the way down, so a sealed record cannot become invalid on its way to the store', () => {
    const r = sealValidRecord(TelemetryRecordSchema.parse(householdRecords({ siteId: 'site-a', count: 1 })[0]));
    assert.ok(isSealedValidRecord(r));
    assert.throws(() => { (r as { seq: number }).seq = -1; }, TypeError);
    assert.throws(() => { (r.telemetry!.battery!.cellVoltages as number[]).push(9); }, TypeError);
  });

  it('are only the very objects sealed: a copy, however equal, is not', () => {
    const r = sealValidRecord(TelemetryRecordSchema.parse(householdRecords({ siteId: 'site-a', count: 1 })[0]));
    assert.equal(isSealedValidRecord(structuredClone(r)), false);
    assert.equal(isSealedValidRecord({ ...r }), false);
    assert.equal(isSealedValidRecord(null), false);
  });

  it('are stored by the store beside unsealed ones, which it still parses and rejects when invalid', async () => {
    const tmp = makeTempDir('valid-records');
    const store = openSqliteStore(join(tmp.dir, 'ts.db'));
    try {
      const [a, b] = householdRecords({ siteId: 'site-a', count: 2 });
      const sealed = sealValidRecord(TelemetryRecordSchema.parse(a));
      const forged = { ...structuredClone(b!), seq: -2 };
      const r = await store.write([sealed, forged, b]);
      assert.equal(r.inserted, 2);
      assert.deepEqual(r.rejected.map((x) => x.index), [1]);
      assert.equal(await store.highestSeq('site-a'), 2);
    } finally {
      await store.close();
      tmp.remove();
    }
  });
});
