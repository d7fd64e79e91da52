// Batteries that serve less than the full SunSpec chain, read from the simulator's register images.
import assert from 'node:assert/strict';
import { BatteryTelemetrySchema } from '../../../domain/contracts';
import { discoverDevice, readModels } from '../../../domain/sunspec/reader';
import { deviceTelemetry, TelemetryMappingError } from '../../../domain/sunspec/telemetry';
import { createSite } from '../../../runtime/simulator/index';
import { siteImages, UNIT, type BatteryVariant } from '../../../runtime/simulator/images/site-images';

async function batteryOf(variant: BatteryVariant): Promise<{ chain: number[]; telemetry: () => ReturnType<typeof deviceTelemetry> }> {
  const site = createSite('household', 4);
  const image = siteImages(site, { seed: 4, version: '0.1.0' }, variant).get(UNIT.BATTERY);
  assert.ok(image);
  const read = (a: number, n: number): Promise<ArrayLike<number>> => Promise.resolve(image.readRegisters(a, n));
  const device = await discoverDevice(read, undefined, 'auto');
  const models = await readModels(read, device.polled);
  return { chain: device.chain.map((m) => m.id), telemetry: () => deviceTelemetry(device.kind, models, 1_700_000_000_000) };
}

describe('a SunSpec battery that lacks optional models or points', () => {
  it('without model 805: temperatures and per-cell readings are null or empty, the rest is read', async () => {
    const b = await batteryOf('no-805');
    assert.deepEqual(b.chain, [1, 802, 713]);
    const t = b.telemetry();
    assert.equal(t.kind, 'battery');
    if (t.kind !== 'battery') return;
    assert.equal(t.battery.tempMax, null);
    assert.equal(t.battery.tempMin, null);
    assert.deepEqual(t.battery.cellTemps, []);
    assert.deepEqual(t.battery.cellVoltages, []);
    assert.ok(t.battery.soc > 0 && t.battery.cellVmax > 3, JSON.stringify(t.battery));
    assert.ok(t.battery.chargeCurrentMax !== null && t.battery.chargeCurrentMax > 0);
    assert.ok(t.battery.energyAvailableWh !== null, '713 still read');
    BatteryTelemetrySchema.parse(t.battery);
  });

  it('with model 802 only: the same, and what only 713 holds is null', async () => {
    const b = await batteryOf('802-only');
    assert.deepEqual(b.chain, [1, 802]);
    const t = b.telemetry();
    if (t.kind !== 'battery') return assert.fail(t.kind);
    assert.equal(t.battery.tempMax, null);
    assert.equal(t.battery.energyAvailableWh, null);
    assert.ok(t.battery.capacityWh !== null, '802 WHRtg');
    BatteryTelemetrySchema.parse(t.battery);
  });

  it('without SoC: a configuration error naming the point', async () => {
    const b = await batteryOf('no-soc');
    assert.throws(() => b.telemetry(), (err: unknown) => {
      assert.ok(err instanceof TelemetryMappingError);
      assert.match(err.message, /configuration error: the device does not implement 802\.SoC \(state of charge\)/);
      return true;
    });
  });

  it('with the full chain: temperatures are measured', async () => {
    const t = (await batteryOf('full')).telemetry();
    if (t.kind !== 'battery') return assert.fail(t.kind);
    assert.equal(typeof t.battery.tempMax, 'number');
  });
});
