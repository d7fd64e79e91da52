// Islanding in the simulated site: what a grid loss does with and without a grid-forming PCS, the
// island's power balance and collapse, and reconnection, through the PCS's registers (701, 703,
// vendor model 64900) and the meter (203) as a controller reads them.
import assert from 'node:assert/strict';
import { decodeModel } from '../../../domain/sunspec/codec';
import { discoverModels, readBlock } from '../../../domain/sunspec/discovery';
import { islandModel } from '../../../domain/black-start/island-models';
import { islandWrites } from '../../../domain/black-start/island-writes';
import type { IslandCommand } from '../../../domain/black-start/state-machine';
import { createSite } from '../../../runtime/simulator/index';
import type { Site } from '../../../runtime/simulator/site';
import { siteImages } from '../../../runtime/simulator/images/site-images';
import type { SunSpecImage } from '../../../runtime/simulator/images/image';

describe('simulator islanding', () => {
  let site: Site;
  let pcs: SunSpecImage;
  let meter: SunSpecImage;
  let images: Map<number, SunSpecImage>;
  const points = async (image: SunSpecImage, id: number): Promise<Record<string, unknown>> => {
    const read = (a: number, n: number): Promise<ArrayLike<number>> => Promise.resolve(image.readRegisters(a, n));
    const loc = (await discoverModels(read, 40000)).models.find((m) => m.id === id);
    assert.ok(loc, `model ${id}`);
    return decodeModel(islandModel(id), await readBlock(read, loc.address, loc.length + 2), loc.address).root.points;
  };
  const command = async (cmd: IslandCommand): Promise<void> => {
    const read = (a: number, n: number): Promise<ArrayLike<number>> => Promise.resolve(pcs.readRegisters(a, n));
    const loc = (await discoverModels(read, 40000)).models.find((m) => m.id === 64900);
    for (const w of islandWrites(islandModel(64900), cmd)) pcs.writeRegisters((loc?.address ?? 0) + w.offset, w.values);
  };
  const step = (ms: number): void => {
    site.step(ms);
    for (const i of images.values()) i.refresh();
  };
  beforeEach(() => {
    site = createSite('household', 3);
    images = siteImages(site, { seed: 3, version: '0.1.0' });
    pcs = images.get(2) as SunSpecImage;
    meter = images.get(3) as SunSpecImage;
    step(1000);
  });

  it('reports an islanding- and black-start-capable PCS (702 IntIslandCatRtg) with enter-service settings (703)', async () => {
    assert.equal((await points(pcs, 702)).IntIslandCatRtg, 0b110);
    const es = await points(pcs, 703);
    assert.equal(es.ES, 1);
    assert.equal(es.ESHzLo, 49.5);
  });

  it('goes dark on grid loss when nobody commands grid-forming: load unserved, PCS at 0 W, meter and PCS at 0 V', async () => {
    site.pcs.write({ wSetEna: true, wSet: 2000, wRmp: 0, wSetRvrtTms: 0 });
    step(2000);
    site.injectFault({ type: 'grid-loss' });
    step(2000);
    const s = site.state();
    assert.equal(s.island.state, 'DARK');
    assert.equal(s.island.loadServedW, 0);
    assert.equal(s.pcs.power, 0);
    assert.equal((await points(meter, 203)).PhV, 0);
    assert.equal((await points(pcs, 701)).LNV, 0);
    assert.equal((await points(pcs, 64900)).IslSt, 1);
  });

  it('forms an island when commanded with the tie open: the PCS serves the closed groups, its 701 shows the island, the meter 0 V', async () => {
    site.injectFault({ type: 'grid-loss' });
    await command({ what: 'isolate', tieClosed: false, breakers: [true, false, false] });
    await command({ what: 'form', gridForming: true });
    const soc0 = site.pack.soc;
    step(60_000);
    const s = site.state();
    assert.equal(s.island.state, 'ISLANDED');
    const critical = s.island.groups[0]?.demandW ?? 0;
    assert.ok(Math.abs(s.island.loadServedW - critical) < 1e-6, 'only the critical group is served');
    assert.ok(Math.abs(s.pcs.power - (critical - s.island.pvUsedW)) < 1, 'the PCS balances the island');
    const ac = await points(pcs, 701);
    assert.equal(ac.LNV, 230);
    assert.ok(Math.abs(Number(ac.Hz) - 50) < 0.5);
    assert.equal(ac.DERMode, 2, 'GRID_FORMING bit');
    assert.equal(ac.ConnSt, 0);
    assert.equal((await points(meter, 203)).PhV, 0, 'the grid side of the tie is dead');
    assert.equal(site.gridW, 0);
    if (s.pcs.power > 0) assert.ok(site.pack.soc < soc0, 'the battery carries the island');
  });

  it('does not form an island with the tie closed on a dead grid (anti-islanding)', async () => {
    site.injectFault({ type: 'grid-loss' });
    await command({ what: 'form', gridForming: true });
    step(5000);
    assert.equal(site.state().island.state, 'DARK');
  });

  it('collapses when the island load exceeds what the PCS may deliver, and stays down until GridForm is reset', async () => {
    site = createSite('household', 3, Date.UTC(2014, 5, 15, 1, 0)); // at night: no PV to carry the island
    images = siteImages(site, { seed: 3, version: '0.1.0' });
    pcs = images.get(2) as SunSpecImage;
    step(1000);
    assert.equal(site.pvW, 0);
    site.injectFault({ type: 'grid-loss' });
    await command({ what: 'isolate', tieClosed: false, breakers: [true, true, true] });
    await command({ what: 'form', gridForming: true });
    step(1000);
    site.pcs.write({ wMax: 10, wDisChaRteMax: 10 }); // far below the load
    step(1000);
    let s = site.state();
    assert.equal(s.island.state, 'COLLAPSED');
    assert.equal(s.island.loadServedW, 0);
    assert.equal(s.pcs.state, 'FAULT');
    site.pcs.write({ wMax: 5000, wDisChaRteMax: 5000 });
    step(2000);
    assert.equal(site.state().island.state, 'COLLAPSED', 'latched');
    await command({ what: 'release', gridForming: false });
    await command({ what: 'form', gridForming: true });
    step(1000);
    s = site.state();
    assert.equal(s.island.state, 'ISLANDED');
  });

  it('shows the returning grid on the meter while islanded, and reconnects when commanded grid-following with the tie closed', async () => {
    site.injectFault({ type: 'grid-loss' });
    await command({ what: 'isolate', tieClosed: false, breakers: [true, false, false] });
    await command({ what: 'form', gridForming: true });
    step(2000);
    site.clearFaults('grid-loss');
    step(2000);
    assert.equal(site.state().island.state, 'ISLANDED', 'the tie stays open until the controller closes it');
    assert.equal((await points(meter, 203)).PhV, 230);
    assert.equal((await points(meter, 203)).Hz, 50);
    await command({ what: 'reconnect', gridForming: false, tieClosed: true });
    await command({ what: 'restore', breakers: [true, true, true] });
    step(2000);
    const s = site.state();
    assert.equal(s.island.state, 'GRID_CONNECTED');
    assert.equal(s.meter.gridConnected, true);
    assert.ok(Math.abs(s.island.loadServedW - s.meter.load) < 1e-6, 'every load served again');
    assert.ok(Math.abs(site.gridW - (s.island.loadServedW - s.meter.pv - s.pcs.power)) < 1e-6);
  });
});
