import assert from 'node:assert/strict';
import { encodeModel } from '../../../domain/sunspec/codec';
import { blockModelDef, blockSize, decodeProfileBlock, parseProfile, ProfileError } from '../../../domain/sunspec/profile';
import { deviceTelemetry } from '../../../domain/sunspec/telemetry';

const meterProfile = {
  name: 'meter', kind: 'meter',
  blocks: [{ model: 203, address: 10, function: 'input', points: [
    { name: 'W', type: 'int32', size: 2, sf: 'W_SF' },
    { name: 'gap', type: 'pad', size: 3 },
    { name: 'W_SF', type: 'sunssf', size: 1 },
    { name: 'Hz', type: 'uint16', size: 1, sf: -2 },
  ] }],
};

describe('device profiles (non-SunSpec devices in the SunSpec point format)', () => {
  it('parses a profile from JSON text, defaulting the function to holding registers', () => {
    const p = parseProfile(JSON.stringify({ ...meterProfile, blocks: [{ ...meterProfile.blocks[0], function: undefined }] }));
    assert.equal(p.blocks[0]?.function, 'holding');
    assert.equal(blockSize(p.blocks[0]!), 7);
  });

  it('decodes a block like the model it impersonates, pads skipped and own scale factors applied', () => {
    const p = parseProfile(meterProfile);
    const block = p.blocks[0]!;
    const regs = encodeModel(blockModelDef(block), { points: { W: -123400, W_SF: -1, Hz: 50.02 } }).slice(2);
    const m = decodeProfileBlock(block, regs);
    assert.equal(m.id, 203);
    assert.equal(m.address, 10);
    assert.equal(m.root.points.W, -123400);
    assert.equal(m.root.points.Hz, 50.02);
    assert.equal(deviceTelemetry('meter', [m], 5).kind, 'meter');
  });

  const refusals: [string, unknown, RegExp][] = [
    ['empty text', '', /profile is empty/],
    ['text that is not JSON', '{name:', /not valid JSON/],
    ['an unknown kind', { ...meterProfile, kind: 'toaster' }, /kind/],
    ['no blocks', { ...meterProfile, blocks: [] }, /blocks/],
    ['an unknown point type', { ...meterProfile, blocks: [{ model: 203, address: 0, points: [{ name: 'W', type: 'int24', size: 1 }] }] }, /blocks\.0\.points\.0\.type/],
    ['a scale factor that names no sunssf point', { ...meterProfile, blocks: [{ model: 203, address: 0, points: [{ name: 'W', type: 'int16', size: 1, sf: 'W_SF' }] }] }, /W scales by W_SF/],
    ['a point twice', { ...meterProfile, blocks: [{ model: 203, address: 0, points: [{ name: 'W', type: 'int16', size: 1 }, { name: 'W', type: 'int16', size: 1 }] }] }, /W appears twice/],
    ['a block past register 65535', { ...meterProfile, blocks: [{ model: 203, address: 65535, points: [{ name: 'W', type: 'int32', size: 2 }] }] }, /run past address 65535/],
    ['a group without a fixed count', { ...meterProfile, blocks: [{ model: 805, address: 0, points: [{ name: 'NCell', type: 'uint16', size: 1 }], groups: [{ name: 'cell', type: 'group', count: 'NCell', points: [{ name: 'CellV', type: 'uint16', size: 1 }] }] }] }, /fixed count/],
  ];
  for (const [what, input, problem] of refusals) {
    it(`refuses ${what} with an error naming the problem`, () => {
      assert.throws(() => parseProfile(input), (err: Error) => err instanceof ProfileError && problem.test(err.message));
    });
  }

  it('refuses to decode fewer registers than the block spans', () => {
    const block = parseProfile(meterProfile).blocks[0]!;
    assert.throws(() => decodeProfileBlock(block, [1, 2, 3]), /3 registers, needs 7/);
  });
});
