import assert from 'node:assert/strict';
import net from 'node:net';
import ModbusRTU from 'modbus-serial';
import { decodeModel } from '../../../domain/sunspec/codec';
import { discoverModels, type ModelLocation } from '../../../domain/sunspec/discovery';
import { sunspecModel } from '../../../domain/sunspec/model';
import { startSimulator, type RunningSimulator, type SiteState } from '../../../runtime/simulator/index';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Poll until check() holds or the (generous) deadline passes; returns the last value. */
async function eventually<T>(probe: () => Promise<T>, check: (v: T) => boolean, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  let v = await probe();
  while (!check(v) && Date.now() < end) {
    await sleep(50);
    v = await probe();
  }
  return v;
}

async function http(port: number, method: string, path: string, body?: string): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    ...(body !== undefined ? { body, headers: { 'content-type': 'application/json' } } : {}),
  });
  return { status: res.status, json: await res.json() };
}

function pointOffset(id: number, name: string): number {
  let at = 0;
  for (const p of sunspecModel(id)?.group.points ?? []) {
    if (p.name === name) return at;
    at += p.size;
  }
  throw new Error(`${id}.${name}`);
}

describe('Simulator over real Modbus TCP (SunSpec) with its control API', function () {
  this.timeout(30_000);
  let sim: RunningSimulator;
  let client: ModbusRTU;

  const read = async (unit: number, address: number, count: number): Promise<number[]> => {
    client.setID(unit);
    return (await client.readHoldingRegisters(address, count)).data;
  };
  const chain = async (unit: number): Promise<ModelLocation[]> => (await discoverModels((a, n) => read(unit, a, n))).models;
  const model = async (unit: number, id: number): Promise<ReturnType<typeof decodeModel>> => {
    const loc = (await chain(unit)).find((m) => m.id === id);
    assert.ok(loc, `unit ${unit} has model ${id}`);
    const def = sunspecModel(id);
    assert.ok(def);
    const regs: number[] = [];
    for (let at = loc.address; at < loc.address + loc.length + 2; at += 125) {
      regs.push(...(await read(unit, at, Math.min(125, loc.address + loc.length + 2 - at))));
    }
    return decodeModel(def, regs, loc.address);
  };
  const state = async (): Promise<SiteState> => (await http(sim.controlPort, 'GET', '/state')).json as SiteState;

  beforeEach(async () => {
    sim = await startSimulator({ modbusPort: 0, controlPort: 0, speed: 20, seed: 4, tickMs: 20 });
    client = new ModbusRTU();
    await client.connectTCP('127.0.0.1', { port: sim.modbusPort });
    client.setTimeout(1000);
  });
  afterEach(async () => {
    await new Promise<void>((r) => client.close(() => r()));
    await sim.close();
  });

  it('is discovered as three SunSpec devices: SunS at 40000 and model chains ending with 0xFFFF', async () => {
    assert.deepEqual(await read(1, 40000, 2), [0x5375, 0x6e53]);
    assert.deepEqual((await chain(1)).map((m) => m.id), [1, 802, 805, 713]);
    assert.deepEqual((await chain(2)).map((m) => m.id), [1, 701, 702, 704, 703, 64900]);
    assert.deepEqual((await chain(3)).map((m) => m.id), [1, 203]);
    const common = await model(2, 1);
    assert.equal(common.root.points.Mn, 'LiFePO4 EMS');
    const cells = (await model(1, 805)).root.groups['lithium-ion-module-cell'] ?? [];
    assert.equal(cells.length, 16);
    const st = await state();
    assert.ok(Math.abs(Number(cells[0]?.points.CellV) - (st.cells[0]?.voltage ?? 0)) < 0.01);
  });

  it('takes a setpoint through 704 WSet, reads it back and runs the PCS to it', async () => {
    const m704 = (await chain(2)).find((m) => m.id === 704);
    assert.ok(m704);
    client.setID(2);
    // WSetEna = ENABLED, WSetMod = WATTS, WSet = 1500 W (int32, high word first).
    await client.writeRegisters(m704.address + pointOffset(704, 'WSetEna'), [1, 1, 0, 1500]);
    const back = await model(2, 704);
    assert.equal(back.root.points.WSet, 1500);
    assert.equal(back.root.points.WSetEna, 1);
    const w = await eventually(async () => (await model(2, 701)).root.points.W, (v) => v === 1500);
    assert.equal(w, 1500);
    const st = await state();
    assert.equal(st.pcs.setpoint, 1500);
  });

  it('returns the PCS to 0 W by itself when no fresh setpoint arrives within WSetRvrtTms', async () => {
    const m704 = (await chain(2)).find((m) => m.id === 704);
    assert.ok(m704);
    client.setID(2);
    await client.writeRegisters(m704.address + pointOffset(704, 'WSetRvrtTms'), [0, 3]);
    await client.writeRegisters(m704.address + pointOffset(704, 'WSetEna'), [1, 1, 0, 2000]);
    const running = await eventually(async () => (await model(2, 701)).root.points.W, (v) => v === 2000);
    assert.equal(running, 2000);
    const after = await eventually(async () => (await model(2, 704)).root.points, (p) => p.WSetEna === 0);
    assert.equal(after.WSet, 0);
    assert.equal(after.WSetRvrtRem, 0);
    const w = await eventually(async () => (await model(2, 701)).root.points.W, (v) => v === 0);
    assert.equal(w, 0);
  });

  it('refuses writes to read-only registers with exception 2 and bad enum values with exception 3', async () => {
    const m701 = (await chain(2)).find((m) => m.id === 701);
    const m704 = (await chain(2)).find((m) => m.id === 704);
    assert.ok(m701 && m704);
    client.setID(2);
    await assert.rejects(client.writeRegisters(m701.address + pointOffset(701, 'W'), [100]), (e: { modbusCode?: number }) => e.modbusCode === 2);
    await assert.rejects(client.writeRegisters(m704.address + pointOffset(704, 'WSetMod'), [9]), (e: { modbusCode?: number }) => e.modbusCode === 3);
  });

  it('serves the physical state and injects and clears faults through the control API', async () => {
    const health = await http(sim.controlPort, 'GET', '/health');
    assert.equal(health.status, 200);
    const st = await state();
    assert.equal(st.cells.length, 16);
    assert.ok(st.pack.soc > 0 && st.pack.soc < 100);

    const bad = await http(sim.controlPort, 'POST', '/faults', '{"type":');
    assert.equal(bad.status, 400);
    assert.match((bad.json as { error: string }).error, /JSON/);
    const unknown = await http(sim.controlPort, 'POST', '/faults', JSON.stringify({ type: 'meteor-strike' }));
    assert.equal(unknown.status, 400);
    assert.match((unknown.json as { error: string }).error, /type/);

    const hot = await http(sim.controlPort, 'POST', '/faults', JSON.stringify({ type: 'over-temperature', cell: 3 }));
    assert.equal(hot.status, 201);
    const evt = await eventually(async () => (await model(1, 802)).root.points.Evt1, (v) => typeof v === 'number' && v > 0);
    assert.ok((Number(evt) & (1 << 1)) !== 0, 'OVER_TEMP_ALARM (bit 1) over Modbus');
    assert.ok((await state()).pack.alarms.includes('OVER_TEMP_ALARM'));

    const cleared = await http(sim.controlPort, 'DELETE', '/faults?type=over-temperature');
    assert.equal(cleared.status, 200);
    assert.deepEqual((await state()).faults, []);
    assert.equal((await http(sim.controlPort, 'DELETE', '/faults?type=nope')).status, 400);
  });

  it('falls silent on the modbus-silence fault and answers again when it is cleared', async () => {
    await http(sim.controlPort, 'POST', '/faults', JSON.stringify({ type: 'modbus-silence' }));
    client.setTimeout(300);
    await assert.rejects(read(1, 40000, 2), (e: { message?: string }) => /Timed out/.test(e.message ?? ''));
    await http(sim.controlPort, 'DELETE', '/faults');
    // A fresh connection: the silenced one may still hold a late transaction.
    await new Promise<void>((r) => client.close(() => r()));
    client = new ModbusRTU();
    await client.connectTCP('127.0.0.1', { port: sim.modbusPort });
    client.setTimeout(1000);
    assert.deepEqual(await read(1, 40000, 2), [0x5375, 0x6e53]);
  });

  it('lets simulated time run faster than real time', async () => {
    const real0 = Date.now();
    const sim0 = Date.parse((await state()).simTime);
    // At speed 20 the simulated clock must outrun the wall clock by far; poll, do not time.
    const sim1 = await eventually(
      async () => Date.parse((await state()).simTime),
      (t) => t - sim0 > 2 * (Date.now() - real0) && Date.now() - real0 >= 200,
    );
    assert.ok(sim1 - sim0 > 2 * (Date.now() - real0) || sim1 - sim0 > 4000, `simulated ${sim1 - sim0} ms`);
  });

  it('closes both ports', async () => {
    const { modbusPort, controlPort } = sim;
    await new Promise<void>((r) => client.close(() => r()));
    await sim.close();
    for (const port of [modbusPort, controlPort]) {
      await assert.rejects(
        new Promise<void>((resolve, reject) => {
          const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(); });
          s.on('error', reject);
        }),
      );
    }
    // afterEach closes again: close() must be idempotent.
    client = new ModbusRTU();
  });
});
