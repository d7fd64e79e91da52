// Device profiles that control: the control section's checks, the vendor layouts a block may have,
// and the profile writer. The property: for every library profile that controls and any decision
// inside any envelope, the registers written decode back to the decided power within one register
// step, toward zero, so never outside the envelope.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { clampSetpoint } from '../../../nodes/pcs-setpoint/setpoint';
import { blockModelDef, decodeProfileBlock, parseProfile, ProfileError, toSunSpecOrder } from '../../../domain/sunspec/profile';
import { encodeModel } from '../../../domain/sunspec/codec';
import type { ControlRegister, ProfileControl } from '../../../domain/sunspec/profile-control';
import { clampToLimits, commandedPower, commandWrites, deviceTimeoutS, releaseWrites, setupWrites, type ProfileWrite } from '../../../domain/sunspec/profile-writer';
import { profileLibrary } from '../../../io/profile-library';

const signed = {
  name: 'test inverter', kind: 'pcs', unitId: 5,
  blocks: [{ model: 701, address: 100, points: [{ name: 'W', type: 's32', size: 2, invert: true }] }],
  control: {
    setup: [{ address: 200, type: 'u16', value: 3, name: 'mode' }],
    power: { mode: 'signed', positive: 'charge', register: { address: 201, type: 's16', scale: 1, name: 'setpoint' } },
    release: [{ address: 201, type: 's16', value: 0 }],
    timeout: { kind: 'fixed', seconds: 10 },
    heartbeatS: 5,
  },
};

/** The register contents after the writes, by unit and address. */
function applied(writes: readonly ProfileWrite[], into = new Map<string, number>()): Map<string, number> {
  for (const w of writes) w.values.forEach((v, i) => into.set(`${w.unitId ?? '-'}:${w.address + i}`, v));
  return into;
}
function reader(c: ProfileControl, regs: Map<string, number>): (r: ControlRegister) => number[] | undefined {
  return (r) => {
    const out: number[] = [];
    const size = /32/.test(r.type) ? 2 : 1;
    for (let i = 0; i < size; i++) {
      const v = regs.get(`${r.unitId ?? c.unitId ?? '-'}:${r.address + i}`);
      if (v === undefined) return undefined;
      out.push(v);
    }
    return out;
  };
}

describe('device profiles that control', () => {
  it('takes the vendor type names, FC numbers, invert and a control section', () => {
    const p = parseProfile(signed);
    assert.equal(p.blocks[0]?.points[0]?.type, 'int32');
    assert.equal(parseProfile({ ...signed, blocks: [{ ...signed.blocks[0], function: 4 }] }).blocks[0]?.function, 'input');
    assert.equal(p.control?.power.mode, 'signed');
  });

  it('decodes low-word-first and little-endian registers, and negates an inverted point', () => {
    const block = parseProfile({ ...signed, blocks: [{ model: 701, address: 0, wordOrder: 'low', byteOrder: 'little', points: [{ name: 'W', type: 's32', size: 2, invert: true }] }] }).blocks[0]!;
    // -70000 = 0xFFFEEE90: high word 0xFFFE, low word 0xEE90; low word first, bytes swapped.
    assert.equal(decodeProfileBlock(block, [0x90ee, 0xfeff]).root.points.W, 70000);
    const sunspec = encodeModel(blockModelDef(block), { points: { W: -70000 } }).slice(2);
    assert.deepEqual(toSunSpecOrder(block, sunspec), [0x90ee, 0xfeff]);
  });

  const refusals: [string, unknown, RegExp][] = [
    ['overlapping read blocks', { ...signed, blocks: [signed.blocks[0], { model: 702, address: 101, points: [{ name: 'WMaxRtg', type: 'u16', size: 1 }] }] }, /blocks\.0 .* and blocks\.1 .* overlap \(registers 101\.\.101\)/],
    ['overlapping control registers', { ...signed, control: { ...signed.control, setup: [{ address: 201, type: 'u16', value: 3, name: 'mode' }] } }, /control\.setup\.0 \(mode\) and control\.power\.register \(setpoint\) overlap/],
    ['an unknown type', { ...signed, blocks: [{ model: 701, address: 0, points: [{ name: 'W', type: 'u24', size: 1 }] }] }, /blocks\.0\.points\.0\.type/],
    ['an unknown control register type', { ...signed, control: { ...signed.control, power: { ...signed.control.power, register: { address: 201, type: 'q16' } } } }, /control\.power\.register\.type/],
    ['a control register on a read function', { ...signed, control: { ...signed.control, power: { ...signed.control.power, register: { ...signed.control.power.register, function: 3 } } } }, /control\.power\.register \(setpoint\)\.function: 3 is a read function/],
    ['function 6 for a 32-bit register', { ...signed, control: { ...signed.control, power: { ...signed.control.power, register: { address: 201, type: 's32', function: 6, name: 'setpoint' } } } }, /function: 6 writes one register, a int32 takes 2/],
    ['a heartbeat not shorter than the device timeout', { ...signed, control: { ...signed.control, heartbeatS: 10 } }, /control\.heartbeatS: 10 s is not shorter than the device's timeout of 10 s/],
    ['a signed power register of an unsigned type', { ...signed, control: { ...signed.control, power: { ...signed.control.power, register: { address: 201, type: 'u16' } } } }, /signed power register cannot be uint16/],
    ['limits the power register cannot carry', { ...signed, control: { ...signed.control, limits: { maxChargeW: 400000, maxDischargeW: 0 } } }, /400000 W does not fit control\.power\.register/],
    ['no release', { ...signed, control: { ...signed.control, release: [] } }, /control\.release/],
  ];
  for (const [what, input, problem] of refusals) {
    it(`refuses ${what} with an error naming the field`, () => {
      assert.throws(() => parseProfile(input), (err: Error) => err instanceof ProfileError && problem.test(err.message));
    });
  }

  it('writes the setup registers, then the power in the device sign and scale, and decodes it back', () => {
    const c = parseProfile(signed).control!;
    assert.deepEqual(setupWrites(c).map((w) => [w.address, w.values]), [[200, [3]]]);
    const cmd = commandWrites(c, 1234, 5);
    // + = discharge for us, + = charge for the device; scale 1 = tens of W, toward zero.
    assert.deepEqual(cmd.writes.map((w) => [w.address, w.values]), [[201, [(-123 + 0x10000) & 0xffff]]]);
    assert.equal(cmd.watts, 1230);
    assert.equal(commandedPower(c, reader(c, applied(cmd.writes))), 1230);
    assert.equal(commandedPower(c, reader(c, applied(releaseWrites(c)))), 0);
  });

  it('commands a direction device: power first, timer, direction last; release stops it', () => {
    const huawei = profileLibrary().find((p) => p.id === 'huawei-luna2000-pcs')!.profile.control!;
    const cmd = commandWrites(huawei, -2500, 5);
    assert.deepEqual(cmd.writes.map((w) => [w.address, w.values]), [[47247, [0, 2500]], [47249, [0, 0]], [47083, [1]], [47246, [0]], [47100, [1]]]);
    assert.equal(deviceTimeoutS(huawei, 5), 60);
    assert.equal(deviceTimeoutS(huawei, 200), 240);
    const regs = applied(cmd.writes);
    assert.equal(commandedPower(huawei, reader(huawei, regs)), -2500);
    applied(releaseWrites(huawei), regs);
    assert.equal(commandedPower(huawei, reader(huawei, regs)), null);
  });

  it('every library profile parses and cites its source', () => {
    const lib = profileLibrary();
    assert.ok(lib.length >= 5);
    for (const { id, profile } of lib) {
      assert.ok((profile.source ?? []).length > 0, `${id} cites no source`);
      assert.ok(profile.family, `${id} has no family`);
    }
    for (const family of ['victron-gx', 'huawei-luna2000', 'deye-sg04lp3', 'sungrow-sh', 'seplos-v3']) {
      assert.ok(lib.some((p) => p.profile.family === family), `no ${family} profile`);
    }
  });

  const controlling = profileLibrary().filter((p) => p.profile.control);
  it('property: for every controlling library profile and any decision in any envelope, the registers decode back within one step toward zero', () => {
    assert.ok(controlling.length >= 3);
    fc.assert(fc.property(
      fc.constantFrom(...controlling),
      fc.integer({ min: 0, max: 40_000 }), fc.integer({ min: 0, max: 40_000 }),
      fc.double({ min: -1, max: 1, noNaN: true }),
      fc.integer({ min: 1, max: 3600 }),
      ({ profile }, maxCharge, maxDischarge, fraction, revertS) => {
        const c = profile.control!;
        // The arbiter's decision lies inside the envelope; pcs-setpoint clamps it to the device.
        const decided = clampToLimits(c, clampSetpoint(fraction >= 0 ? fraction * maxDischarge : fraction * maxCharge, { maxChargeW: maxCharge, maxDischargeW: maxDischarge, source: { charge: '', discharge: '' } }));
        const cmd = commandWrites(c, decided, revertS);
        const back = commandedPower(c, reader(c, applied(cmd.writes)));
        const step = 10 ** (c.power.mode === 'signed' ? c.power.register.scale : c.power.charge.scale);
        assert.ok(back !== null);
        assert.equal(back, cmd.watts);
        assert.ok(Math.abs(back - decided) < step, `${profile.name}: ${decided} W decoded as ${back} W`);
        assert.ok(Math.abs(back) <= Math.abs(decided), 'rounded away from zero');
        assert.ok(back <= maxDischarge && back >= -maxCharge, 'outside the envelope');
      },
    ), { numRuns: 500 });
  });
});
