import assert from 'node:assert/strict';
import { createSite } from '../../../runtime/simulator/index';
import { loadHouseholdProfile } from '../../../io/data/real-data';

describe('Simulated site (battery + PCS + meter over real profiles)', () => {
  it('balances energy: AC energy in x PCS efficiency = energy stored at the OCV, within 2 %', () => {
    const site = createSite('household', 3);
    site.pcs.write({ wSetEna: true, wSet: -2500, wRmp: 0, wSetRvrtTms: 0 });
    const pack = site.pack;
    const chargeBefore = pack.storedChargeAh();
    const ocvBefore = pack.cellStates().map((c) => pack.cellOcv(c.soc));
    let acInWh = 0;
    let storedWh = 0;
    for (let s = 0; s < 3600; s++) {
      const ocv = pack.ocvVoltage;
      site.step(1000);
      acInWh += -site.pcs.acPower / 3600;
      // Energy into the cells' chemistry: the OCV (not the terminal voltage) times the charge.
      storedWh += (ocv + pack.ocvVoltage) / 2 * -pack.current / 3600;
    }
    const eta = site.pcs.efficiency(-2500);
    assert.ok(Math.abs(acInWh - 2500) < 1, `AC in ${acInWh} Wh`);
    const expected = acInWh * eta;
    assert.ok(Math.abs(storedWh - expected) / expected < 0.02, `stored ${storedWh} Wh, expected ${expected} Wh (eta ${eta})`);
    assert.ok(storedWh < expected, 'the ohmic loss of the cells comes on top of the PCS loss');
    // The same energy from the change of coulomb-counted charge of every cell at its mean OCV.
    const chargeAfter = pack.storedChargeAh();
    const ocvAfter = pack.cellStates().map((c) => pack.cellOcv(c.soc));
    const byCharge = chargeAfter.reduce((a, q, k) => a + (q - (chargeBefore[k] ?? 0)) * (((ocvBefore[k] ?? 0) + (ocvAfter[k] ?? 0)) / 2), 0);
    assert.ok(Math.abs(byCharge - storedWh) / storedWh < 0.01, `by charge ${byCharge} Wh vs ${storedWh} Wh`);
  });

  it('meters grid = load - PV - battery, positive on import, and counts import and export energy', () => {
    const site = createSite('household', 1, Date.UTC(2014, 5, 15, 12));
    site.pcs.write({ wSetEna: true, wSet: 1000, wRmp: 0, wSetRvrtTms: 0 });
    let imp = 0;
    let exp = 0;
    for (let s = 0; s < 900; s++) {
      site.step(1000);
      const st = site.state();
      assert.ok(Math.abs(st.meter.grid - (st.meter.load - st.meter.pv - st.pcs.power)) < 1e-9);
      if (st.meter.grid > 0) imp += st.meter.grid / 3600;
      else exp -= st.meter.grid / 3600;
    }
    assert.ok(Math.abs(site.energyImportWh - imp) < 1e-6 && Math.abs(site.energyExportWh - exp) < 1e-6);
    assert.equal(site.state().pcs.power, 1000);
  });

  it('reads load and PV from the real household profile and wraps after September', () => {
    const data = loadHouseholdProfile();
    const site = createSite('household', 1, Date.UTC(2014, 0, 1, 0, 0));
    assert.ok(Math.abs(site.loadW - (data.loadKw[0] ?? 0) * 1000) < 1e-6);
    const period = data.time.length * data.stepMs;
    const wrapped = createSite('household', 1, Date.UTC(2014, 0, 1, 0, 0) + period);
    assert.ok(Math.abs(wrapped.loadW - site.loadW) < 1e-6);
    const noon = createSite('household', 1, Date.UTC(2014, 5, 15, 12));
    assert.ok(noon.pvW > 500, `PV at noon in June ${noon.pvW} W`);
  });

  it('scales Berlin demand to a 200 kW peak for the commercial site', () => {
    const site = createSite('commercial', 1);
    let peak = 0;
    for (const v of site.profile.load.values) peak = Math.max(peak, v);
    assert.ok(Math.abs(peak - 200_000) < 1e-6);
    assert.equal(site.pack.cellCount, 240);
    assert.ok(site.pack.ratedWh > 200_000 && site.pack.ratedWh < 230_000);
  });

  it('gives the same result in one long step as in one-second steps (sub-stepping)', () => {
    const a = createSite('household', 5);
    const b = createSite('household', 5);
    for (const s of [a, b]) s.pcs.write({ wSetEna: true, wSet: 3000, wRmp: 0, wSetRvrtTms: 0 });
    a.step(600_000);
    for (let k = 0; k < 600; k++) b.step(1000);
    assert.ok(Math.abs(a.pack.soc - b.pack.soc) < 1e-9);
    assert.ok(Math.abs(a.pack.voltage - b.pack.voltage) < 1e-9);
  });

  describe('faults', () => {
    it('over-temperature: the BMS raises OVER_TEMP_ALARM and opens the contactor; clearing recloses it', () => {
      const site = createSite('household', 1);
      site.injectFault({ type: 'over-temperature', cell: 2 });
      const st = site.state();
      assert.ok(st.pack.alarms.includes('OVER_TEMP_ALARM'));
      assert.equal(st.pack.contactorClosed, false);
      assert.equal(st.cells[2]?.temp, 60);
      site.clearFaults('over-temperature');
      assert.equal(site.state().pack.contactorClosed, true);
      assert.deepEqual(site.activeFaults(), []);
    });

    it('cell over- and under-voltage trip the matching alarms', () => {
      const site = createSite('household', 1);
      site.injectFault({ type: 'cell-over-voltage', cell: 1 });
      assert.ok(site.state().pack.alarms.includes('OVER_VOLT_ALARM'));
      site.injectFault({ type: 'cell-under-voltage', cell: 4, value: 2.3 });
      assert.ok(site.state().pack.alarms.includes('UNDER_VOLT_ALARM'));
      site.clearFaults('cell-over-voltage');
      const alarms = site.state().pack.alarms;
      assert.ok(!alarms.includes('OVER_VOLT_ALARM') && alarms.includes('UNDER_VOLT_ALARM'));
    });

    it('pcs-fault puts the PCS in FAULT at 0 W; grid-loss trips it and the meter reads 0 W', () => {
      const site = createSite('household', 1);
      site.pcs.write({ wSetEna: true, wSet: 2000, wRmp: 0, wSetRvrtTms: 0 });
      site.step(2000);
      assert.equal(site.state().pcs.power, 2000);
      site.injectFault({ type: 'pcs-fault' });
      site.step(1000);
      assert.equal(site.state().pcs.state, 'FAULT');
      assert.equal(site.state().pcs.power, 0);
      site.clearFaults();
      site.injectFault({ type: 'grid-loss' });
      site.step(1000);
      const st = site.state();
      assert.equal(st.meter.gridConnected, false);
      assert.equal(st.meter.grid, 0);
      assert.equal(st.pcs.power, 0);
    });

    it('refuses a fault on a cell that does not exist', () => {
      const site = createSite('household', 1);
      assert.throws(() => site.injectFault({ type: 'over-temperature', cell: 16 }), RangeError);
    });
  });
});
