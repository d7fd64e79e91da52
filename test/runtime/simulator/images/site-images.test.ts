import assert from 'node:assert/strict';
import { decodeModel } from '../../../../domain/sunspec/codec';
import { discoverModels, readBlock } from '../../../../domain/sunspec/discovery';
import { islandModel } from '../../../../domain/black-start/island-models';
import { sunspecModel } from '../../../../domain/sunspec/model';
import { deviceTelemetry } from '../../../../domain/sunspec/telemetry';
import { BatteryTelemetrySchema, MeterTelemetrySchema, PcsTelemetrySchema } from '../../../../domain/contracts';
import { ModbusException, ModbusExceptionCode } from '../../../../runtime/simulator/modbus/register-bank';
import { createSite } from '../../../../runtime/simulator/index';
import type { SunSpecImage } from '../../../../runtime/simulator/images/image';
import { scaleFactorFor } from '../../../../runtime/simulator/images/point-encoding';
import { siteImages } from '../../../../runtime/simulator/images/site-images';
import type { Site } from '../../../../runtime/simulator/site';

async function decoded(image: SunSpecImage): Promise<ReturnType<typeof decodeModel>[]> {
  const read = (a: number, n: number): Promise<ArrayLike<number>> => Promise.resolve(image.readRegisters(a, n));
  const { models } = await discoverModels(read, 40000);
  const out = [];
  for (const m of models) {
    const def = islandModel(m.id);
    out.push(decodeModel(def, await readBlock(read, m.address, m.length + 2), m.address));
  }
  return out;
}

const exceptionCode = (code: number) => (e: unknown): boolean => e instanceof ModbusException && e.code === code;

describe('SunSpec register images of the simulated site', () => {
  for (const kind of ['household', 'commercial'] as const) {
    describe(`${kind} site`, () => {
      let site: Site;
      let images: Map<number, SunSpecImage>;
      beforeEach(() => {
        site = createSite(kind, 2);
        images = siteImages(site, { seed: 2, version: '0.1.0' });
      });

      it('chains models 1, 802, 805..., 713 / 1, 701, 702, 704, 703, 64900 / 1, 203 and decodes into valid telemetry', async () => {
        site.pcs.write({ wSetEna: true, wSet: -site.pcs.config.ratedW, wRmp: 0, wSetRvrtTms: 0 });
        site.step(60_000);
        for (const i of images.values()) i.refresh();
        const bat = await decoded(images.get(1) as SunSpecImage);
        const modules = site.pack.cellCount / 16;
        assert.deepEqual(bat.map((m) => m.id), [1, 802, ...new Array<number>(modules).fill(805), 713]);
        const battery = BatteryTelemetrySchema.parse((deviceTelemetry('battery', bat, 1) as { battery: unknown }).battery);
        assert.equal(battery.cellVoltages.length, site.pack.cellCount);
        assert.ok(Math.abs(battery.soc - site.pack.soc) < 0.1);
        assert.ok(Math.abs(battery.voltage - site.pack.voltage) < 0.1, `${battery.voltage} vs ${site.pack.voltage}`);
        assert.ok(Math.abs(battery.current - site.pack.current) < 0.1);

        const pcs = await decoded(images.get(2) as SunSpecImage);
        assert.deepEqual(pcs.map((m) => m.id), [1, 701, 702, 704, 703, 64900]);
        const p = PcsTelemetrySchema.parse((deviceTelemetry('pcs', pcs, 1) as { pcs: unknown }).pcs);
        assert.equal(p.power, -site.pcs.config.ratedW);
        assert.equal(p.ratedPowerW, site.pcs.config.ratedW);
        assert.equal(p.setpoint, -site.pcs.config.ratedW);

        const met = await decoded(images.get(3) as SunSpecImage);
        assert.deepEqual(met.map((m) => m.id), [1, 203]);
        const m = MeterTelemetrySchema.parse((deviceTelemetry('meter', met, 1) as { meter: unknown }).meter);
        const wSf = Number(met[1]?.root.points.W_SF);
        assert.ok(Math.abs(m.power - site.gridW) <= 10 ** wSf / 2 + 1e-9, `${m.power} vs ${site.gridW}`);
      });
    });
  }

  it('picks scale factors so values fit their registers (W_SF 1 for a 50 kW PCS, cell volts in mV)', () => {
    assert.equal(scaleFactorFor(50_000, 'int16', 0), 1);
    assert.equal(scaleFactorFor(5_000, 'int16', 0), 0);
    assert.equal(scaleFactorFor(3.65, 'uint16', -3), -3);
    assert.equal(scaleFactorFor(876, 'uint16', -2), -1);
  });

  describe('writes', () => {
    let site: Site;
    let pcs: SunSpecImage;
    let bat: SunSpecImage;
    let addr704: number;
    beforeEach(async () => {
      site = createSite('household', 2);
      const images = siteImages(site, { seed: 2, version: '0.1.0' });
      pcs = images.get(2) as SunSpecImage;
      bat = images.get(1) as SunSpecImage;
      addr704 = (await decoded(pcs)).find((m) => m.id === 704)?.address ?? 0;
    });
    const off = (name: string): number => {
      const def = sunspecModel(704);
      let at = 0;
      for (const p of def?.group.points ?? []) {
        if (p.name === name) return at;
        at += p.size;
      }
      throw new Error(name);
    };

    it('accepts WSetEna, WSetMod and WSet in one write and reads them back', () => {
      pcs.writeRegisters(addr704 + off('WSetEna'), [1, 1, 0, 3000]);
      assert.equal(site.pcs.controls.wSet, 3000);
      assert.equal(site.pcs.controls.wSetEna, true);
      assert.deepEqual(Array.from(pcs.readRegisters(addr704 + off('WSet'), 2)), [0, 3000]);
      pcs.writeRegisters(addr704 + off('WSet'), [0xffff, 0xffff - 1999]);
      assert.equal(site.pcs.controls.wSet, -2000);
    });

    it('answers ILLEGAL_DATA_ADDRESS for read-only or unmapped registers and ILLEGAL_DATA_VALUE for a bad enum', () => {
      assert.throws(() => pcs.writeRegisters(addr704 + off('WSetRvrtRem'), [0, 1]), exceptionCode(ModbusExceptionCode.ILLEGAL_DATA_ADDRESS));
      assert.throws(() => pcs.writeRegisters(40000, [1]), exceptionCode(ModbusExceptionCode.ILLEGAL_DATA_ADDRESS));
      assert.throws(() => pcs.readRegisters(39999, 2), exceptionCode(ModbusExceptionCode.ILLEGAL_DATA_ADDRESS));
      assert.throws(() => pcs.readRegisters(40000 + pcs.length - 1, 2), exceptionCode(ModbusExceptionCode.ILLEGAL_DATA_ADDRESS));
      assert.throws(() => pcs.writeRegisters(addr704 + off('WSetMod'), [7]), exceptionCode(ModbusExceptionCode.ILLEGAL_DATA_VALUE));
      assert.equal(site.pcs.controls.wSetMod, 'WATTS', 'a refused write changes nothing');
    });

    it('resets a latched BMS trip through 802 AlmRst', async () => {
      site.injectFault({ type: 'over-temperature' });
      site.pack.faults.cellTemp.clear();
      site.step(1000);
      assert.equal(site.pack.contactorClosed, false);
      const m802 = (await decoded(bat)).find((m) => m.id === 802);
      let at = 0;
      for (const p of sunspecModel(802)?.group.points ?? []) {
        if (p.name === 'AlmRst') break;
        at += p.size;
      }
      bat.writeRegisters((m802?.address ?? 0) + at, [1]);
      assert.equal(site.pack.contactorClosed, true);
    });
  });
});
