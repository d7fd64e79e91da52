import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeModel, decodeRaw, encodeModel, encodeRaw, pointOffset, SunSpecDecodeError } from '../../../domain/sunspec/codec';
import { discoverModels, readBlock, SUNS_MARKER } from '../../../domain/sunspec/discovery';
import { groupSize, knownModelIds, sunspecModel, type ModelDef, type PointDef } from '../../../domain/sunspec/model';

function model(id: number): ModelDef {
  const def = sunspecModel(id);
  if (!def) throw new Error(`model ${id} not built in`);
  return def;
}

const point = (type: PointDef['type'], size: number): PointDef => ({ name: 'P', type, size });

describe('SunSpec codec', () => {
  it('ships the models a battery, a PCS and a meter need, and the islanding ones (703 and our vendor 64900)', () => {
    assert.deepEqual(knownModelIds(), [1, 201, 202, 203, 204, 701, 702, 703, 704, 713, 802, 805, 64900]);
  });

  it('knows each model length from its definition (model 1 is 66 registers + ID and L)', () => {
    assert.equal(groupSize(model(1).group), 68);
    assert.equal(groupSize(model(802).group) - 2, 62);
  });

  describe('point types', () => {
    it('reads int16 two-complement and marks 0x8000 as not implemented', () => {
      assert.equal(decodeRaw(point('int16', 1), [0xfffe], 0), -2);
      assert.equal(decodeRaw(point('int16', 1), [0x8000], 0), null);
    });
    it('reads uint32 and int32 high word first', () => {
      assert.equal(decodeRaw(point('uint32', 2), [0x0001, 0x0002], 0), 65538);
      assert.equal(decodeRaw(point('int32', 2), [0xffff, 0xfffe], 0), -2);
      assert.equal(decodeRaw(point('uint32', 2), [0xffff, 0xffff], 0), null);
    });
    it('reads 64-bit counters as bigint and acc32 zero as not accumulated', () => {
      assert.equal(decodeRaw(point('uint64', 4), [0, 0, 1, 0], 0), 65536n);
      assert.equal(decodeRaw(point('acc32', 2), [0, 0], 0), null);
    });
    it('reads strings up to the first NUL', () => {
      const regs = encodeRaw(point('string', 8), 'LiFePO4');
      assert.equal(decodeRaw(point('string', 8), regs, 0), 'LiFePO4');
      assert.equal(decodeRaw(point('string', 8), new Array(8).fill(0), 0), null);
    });
    it('refuses to encode a value that does not fit its type', () => {
      assert.throws(() => encodeRaw({ name: 'W', type: 'int16', size: 1 }, 40000), /W: 40000 does not fit int16/);
      assert.throws(() => encodeRaw({ name: 'SoC', type: 'uint16', size: 1 }, -1), /does not fit uint16/);
    });
    it('round-trips every integer type over its whole range', () => {
      const ranges: [PointDef['type'], number, bigint, bigint][] = [
        ['int16', 1, -32767n, 32767n], ['uint16', 1, 0n, 65534n], ['int32', 2, -(2n ** 31n) + 1n, 2n ** 31n - 1n],
        ['uint32', 2, 1n, 2n ** 32n - 2n], ['uint64', 4, 0n, 2n ** 64n - 2n], ['int64', 4, -(2n ** 63n) + 1n, 2n ** 63n - 1n],
      ];
      for (const [type, size, min, max] of ranges) {
        fc.assert(fc.property(fc.bigInt({ min, max }), (v) => {
          const p = point(type, size);
          const back = decodeRaw(p, encodeRaw(p, size === 4 ? v : Number(v)), 0);
          return BigInt(back as number | bigint) === v;
        }), { numRuns: 200 });
      }
    });
  });

  describe('models', () => {
    it('applies scale factors: 3312 at CellV_SF -3 reads 3.312 V', () => {
      const regs = encodeModel(model(802), { points: { CellVMax: 3.312, CellV_SF: -3, SoC: 51.5, SoC_SF: -1, V: 52.8, V_SF: -1 } });
      const off = pointOffset(model(802), 'CellVMax');
      assert.equal(regs[off], 3312);
      const m = decodeModel(model(802), regs, 40000);
      assert.equal(m.root.points.CellVMax, 3.312);
      assert.equal(m.root.points.SoC, 51.5);
      assert.equal(m.root.points.V, 52.8);
      assert.equal(m.address, 40000);
    });

    it('decodes a point whose scale factor is not implemented as null, not as a wrong number', () => {
      const regs = encodeModel(model(802), { points: { SoC_SF: -1, SoC: 50 } });
      regs[pointOffset(model(802), 'SoC_SF')] = 0x8000;
      assert.equal(decodeModel(model(802), regs).root.points.SoC, null);
    });

    it('sizes repeating groups from the model length (805 cells)', () => {
      const cells = Array.from({ length: 16 }, (_, i) => ({ points: { CellV: 3.3 + i / 1000, CellTmp: 25 } }));
      const regs = encodeModel(model(805), { points: { NCell: 16, CellV_SF: -3, Tmp_SF: -1, V_SF: -2 }, groups: { 'lithium-ion-module-cell': cells } });
      const m = decodeModel(model(805), regs);
      const decoded = m.root.groups['lithium-ion-module-cell'] ?? [];
      assert.equal(decoded.length, 16);
      assert.equal(decoded[15]?.points.CellV, 3.315);
      assert.equal(decoded[0]?.points.CellTmp, 25);
    });

    it('round-trips scaled values within half a least significant digit', () => {
      fc.assert(fc.property(fc.double({ min: -320, max: 320, noNaN: true }), fc.integer({ min: 0, max: 2 }), (w, neg) => {
        const sf = -neg;
        const regs = encodeModel(model(701), { points: { W: w, W_SF: sf } });
        const back = decodeModel(model(701), regs).root.points.W as number;
        return Math.abs(back - w) <= 0.5 * 10 ** sf + 1e-9;
      }));
    });

    it('rejects registers of another model or too short for their length', () => {
      const regs = encodeModel(model(713), { points: {} });
      assert.throws(() => decodeModel(model(802), regs), SunSpecDecodeError);
      assert.throws(() => decodeModel(model(713), regs.slice(0, 5)), /length 7 but only 3 registers/);
    });

    it('never throws anything but a SunSpecDecodeError on arbitrary registers', () => {
      fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 200 }), (regs) => {
        try {
          decodeModel(model(802), [802, ...regs]);
        } catch (err) {
          if (!(err instanceof SunSpecDecodeError)) throw err;
        }
      }));
    });
  });

  describe('discovery', () => {
    const image = (base: number, models: number[][]): Map<number, number> => {
      const regs = [...SUNS_MARKER, ...models.flat(), 0xffff, 0];
      return new Map(regs.map((r, i) => [base + i, r]));
    };
    const reader = (mem: Map<number, number>) => async (address: number, count: number) => {
      const out: number[] = [];
      for (let i = 0; i < count; i++) {
        const v = mem.get(address + i);
        if (v === undefined) throw new Error(`illegal address ${address + i}`);
        out.push(v);
      }
      return out;
    };

    it('finds the marker at 40000 and walks the chain to 0xFFFF', async () => {
      const common = encodeModel(model(1), { points: { Mn: 'LIFO4', Md: 'SIM', SN: '1' } });
      const bat = encodeModel(model(802), { points: {} });
      const found = await discoverModels(reader(image(40000, [common, bat])));
      assert.equal(found.base, 40000);
      assert.deepEqual(found.models.map((m) => [m.id, m.address, m.length]), [[1, 40002, 66], [802, 40070, 62]]);
    });

    it('tries base 0 when 40000 is not mapped', async () => {
      const found = await discoverModels(reader(image(0, [encodeModel(model(713), { points: {} })])));
      assert.equal(found.base, 0);
    });

    it('names the reason when there is no marker', async () => {
      await assert.rejects(discoverModels(reader(new Map([[40000, 1], [40001, 2], [0, 0], [1, 0], [50000, 0], [50001, 0]]))), /no SunSpec marker found/);
    });

    it('reads long blocks in requests of at most 125 registers', async () => {
      const sizes: number[] = [];
      const mem = new Map(Array.from({ length: 300 }, (_, i) => [i, i]));
      const regs = await readBlock(async (a, n) => { sizes.push(n); return reader(mem)(a, n); }, 0, 300);
      assert.deepEqual(sizes, [125, 125, 50]);
      assert.equal(regs[299], 299);
    });
  });
});
