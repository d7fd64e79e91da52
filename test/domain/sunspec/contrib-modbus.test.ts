import assert from 'node:assert/strict';
import { encodeModel } from '../../../domain/sunspec/codec';
import { ContribModbusError, decodeSunSpecBlock, registersOfMessage } from '../../../domain/sunspec/contrib-modbus';
import { SUNS_MARKER } from '../../../domain/sunspec/discovery';
import { sunspecModel } from '../../../domain/sunspec/model';

const m713 = sunspecModel(713)!;
const regs713 = encodeModel(m713, { points: { WHRtg: 10000, WHAvail: 5000, WH_SF: 0, SoC: 50, SoH: 99, Pct_SF: 0, Sta: 1 } });
const block = [...SUNS_MARKER, ...regs713, 0xffff, 0];
const bytes = (regs: number[]): Buffer => Buffer.from(regs.flatMap((r) => [r >> 8, r & 0xff]));

describe('node-red-contrib-modbus messages', () => {
  it('takes the registers of a Modbus-Read output 1 message and its request address', () => {
    const msg = { topic: 'polling', payload: block, responseBuffer: { data: block, buffer: bytes(block) }, input: { payload: { unitid: 1, fc: 3, address: 40000, quantity: block.length } } };
    assert.deepEqual(registersOfMessage(msg), { registers: block, address: 40000, source: 'responseBuffer.buffer' });
  });

  it('takes a Modbus-Getter output 2 message: payload {data, buffer}, values, modbusRequest', () => {
    const msg = { payload: { data: block, buffer: bytes(block) }, values: block, modbusRequest: { address: '40000', quantity: 12 } };
    const r = registersOfMessage(msg);
    assert.deepEqual(r.registers, block);
    assert.equal(r.address, 40000);
  });

  it('takes a Buffer that went through JSON, and a bare payload array without an address', () => {
    const json = JSON.parse(JSON.stringify({ responseBuffer: { buffer: bytes(block) } })) as unknown;
    assert.deepEqual(registersOfMessage(json).registers, block);
    assert.deepEqual(registersOfMessage({ payload: block }), { registers: block, address: null, source: 'payload' });
  });

  it('refuses a message without registers, and values outside 0..65535, with a clear error', () => {
    assert.throws(() => registersOfMessage({ payload: 'hello' }), /no registers in the message/);
    assert.throws(() => registersOfMessage({ payload: [1, 70000] }), /no registers in the message/);
    assert.throws(() => registersOfMessage({ payload: Buffer.from([1, 2, 3]) }), /odd length of 3 bytes/);
  });

  it('decodes a block from the SunS marker and from a model header alike', () => {
    const fromMarker = decodeSunSpecBlock(block, 40000);
    assert.equal(fromMarker.models[0]?.id, 713);
    assert.equal(fromMarker.models[0]?.address, 40002);
    const fromHeader = decodeSunSpecBlock(regs713, 40002);
    assert.equal(fromHeader.models[0]?.root.points.SoC, 50);
  });

  it('skips models it does not know, and names a model cut off by the end of the block', () => {
    const r = decodeSunSpecBlock([64001, 2, 7, 7, ...regs713, 802, 62, 1, 2], 0);
    assert.deepEqual(r.models.map((m) => m.id), [713]);
    assert.match(r.skipped.join(), /model 64001 at 0 is not known/);
    assert.match(r.skipped.join(), /model 802 at 13 is cut off: needs 64 registers, the block has 4 left/);
  });

  it('refuses a block that holds no decodable model', () => {
    assert.throws(() => decodeSunSpecBlock([0, 5, 5], 100), (e: Error) => e instanceof ContribModbusError && /no SunSpec model header at 100/.test(e.message));
    assert.throws(() => decodeSunSpecBlock([802, 62, 1], 100), /cut off/);
  });
});
