// The arbitrage LP on cases a reader can check by hand, and on random ones for feasibility.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { planSchedule, ScheduleError, type BatteryProblem } from '../../../domain/arbitrage/schedule';

/** 10 kWh, 5 kW, 95 % each way, SoC 5-95 %. */
const battery = {
  capacityKwh: 10, socStartPct: 5, socMinPct: 5, socMaxPct: 95,
  maxChargeKw: 5, maxDischargeKw: 5, etaCharge: 0.95, etaDischarge: 0.95,
};
const close = (a: number, b: number, tol = 1e-6, what = ''): void => assert.ok(Math.abs(a - b) <= tol, `${what} ${a} != ${b}`);
const day = (...blocks: [hours: number, price: number][]): number[] => blocks.flatMap(([h, p]) => Array<number>(h).fill(p));

describe('arbitrage LP (domain/arbitrage/schedule)', () => {
  it('on a two-price day fills up while cheap and empties while dear', async () => {
    // 12 h at 20 EUR/MWh then 12 h at 80. From 5 % to 95 % stores 9 kWh, bought as 9 / 0.95 kWh;
    // emptying it sells 9 x 0.95 kWh: revenue = 8.55 x 0.08 - 9.4737 x 0.02 = 0.49453 EUR.
    const s = await planSchedule({ ...battery, pricesEurPerMWh: day([12, 20], [12, 80]), stepHours: 1 });
    close(s.revenueEur, 8.55 * 0.08 - (9 / 0.95) * 0.02, 1e-6, 'revenue');
    close(Math.max(...s.socPct.slice(0, 12)), 95, 1e-6, 'full at noon');
    close(s.socPct[23] as number, 5, 1e-6, 'empty at the end');
    assert.ok(s.powerKw.slice(0, 12).every((p) => p <= 1e-9), 'never discharges while cheap');
    assert.ok(s.powerKw.slice(12).every((p) => p >= -1e-9), 'never charges while dear');
  });

  it('does not cycle on flat prices', async () => {
    const s = await planSchedule({ ...battery, socStartPct: 50, pricesEurPerMWh: day([24, 40]), stepHours: 1, terminalValueEurPerKwh: 0.04 * 0.95 });
    assert.ok(s.chargeKw.every((c) => c < 1e-9), `charged: ${s.chargeKw.join(',')}`);
    // Selling now or holding at the terminal value is worth the same: 5 kWh x 0.038 EUR/kWh.
    close(s.objectiveEur, 5 * 0.04 * 0.95, 1e-9, 'objective');
  });

  it('charges at negative prices (it is paid to take energy), and makes room for it beforehand', async () => {
    // Full at 95 %: sell 5 kW at 40 EUR/MWh in hour 0 (5.263 kWh out of the cells), then take
    // 5 kW at -50 in hour 1 (4.75 kWh in), ending at 95 - 52.63 + 47.5 = 89.87 %.
    const s = await planSchedule({ ...battery, socStartPct: 95, pricesEurPerMWh: [40, -50], stepHours: 1 });
    assert.deepEqual(s.powerKw.map((p) => Math.round(p * 1e6) / 1e6), [5, -5]);
    close(s.socPct[1] as number, 95 - 52.631_578_9 + 47.5, 1e-5, 'end SoC');
    close(s.revenueEur, 5 * 0.04 + 5 * 0.05, 1e-9, 'revenue');
  });

  it('never charges and discharges in the same step, even where the LP relaxation would burn energy for money', async () => {
    // A full battery at -100 EUR/MWh: the relaxation would charge and discharge 5 kW at once
    // (net 0 kW, losses paid by the price). One battery holds one power: it stays idle.
    const s = await planSchedule({ ...battery, socStartPct: 95, pricesEurPerMWh: [-100], stepHours: 1 });
    assert.equal(s.chargeKw[0], 0);
    assert.equal(s.dischargeKw[0], 0);
    assert.ok(s.solves >= 2, 'a second solve removed the simultaneous charge and discharge');
  });

  it('leaves a spread alone that the round-trip losses eat, and takes one that survives them', async () => {
    // Round trip 0.95 x 0.95 = 0.9025: buying at 50 pays only when selling above 50 / 0.9025 = 55.4.
    const small = await planSchedule({ ...battery, pricesEurPerMWh: [50, 54], stepHours: 1 });
    assert.ok(small.chargeKw.every((c) => c < 1e-9));
    close(small.objectiveEur, 0, 1e-12);
    const large = await planSchedule({ ...battery, pricesEurPerMWh: [50, 56], stepHours: 1 });
    close(large.chargeKw[0] as number, 5, 1e-9);
    assert.ok(large.objectiveEur > 0);
  });

  it('charges the degradation cost per kWh of throughput and skips cycles it makes unprofitable', async () => {
    const prices = day([12, 20], [12, 80]);
    const free = await planSchedule({ ...battery, pricesEurPerMWh: prices, stepHours: 1 });
    const worn = await planSchedule({ ...battery, pricesEurPerMWh: prices, stepHours: 1, degradationEurPerKwh: 0.01 });
    close(worn.degradationEur, 0.01 * (9 / 0.95 + 9 * 0.95), 1e-6, 'degradation');
    close(worn.objectiveEur, free.revenueEur - worn.degradationEur, 1e-6, 'objective');
    const tooDear = await planSchedule({ ...battery, pricesEurPerMWh: prices, stepHours: 1, degradationEurPerKwh: 0.04 });
    assert.ok(tooDear.chargeKw.every((c) => c < 1e-9));
  });

  it('keeps the grid within its import limit given the site load, and reports the grid power', async () => {
    // 3 kW load, 1 kW PV, import limit 4 kW: charging may take at most 2 kW in the cheap hour.
    const s = await planSchedule({
      ...battery, pricesEurPerMWh: [10, 100], stepHours: 1, loadKw: [3, 3], pvKw: [1, 1], gridImportMaxKw: 4, gridExportMaxKw: 0,
    });
    close(s.chargeKw[0] as number, 2, 1e-6, 'charge');
    close(s.gridKw[0] as number, 4, 1e-6, 'grid import');
    // The 1.9 kWh stored come back as 1.805 kWh, all of it into the site's 2 kW net load.
    close(s.dischargeKw[1] as number, 2 * 0.95 * 0.95, 1e-6, 'discharge');
    close(s.gridKw[1] as number, 2 - 2 * 0.95 * 0.95, 1e-6, 'grid');
  });

  it('holds a terminal SoC when asked', async () => {
    const s = await planSchedule({ ...battery, socStartPct: 50, pricesEurPerMWh: [80, 80], stepHours: 1, terminalSocMinPct: 40 });
    close(s.socPct[1] as number, 40, 1e-6);
  });

  it('plans from a start outside the SoC window instead of failing', async () => {
    const s = await planSchedule({ ...battery, socStartPct: 2, pricesEurPerMWh: [80, 80], stepHours: 1 });
    assert.ok(s.socPct.every((x) => x >= 2 - 1e-9));
    assert.ok(s.dischargeKw.every((d) => d < 1e-9), 'below the window: nothing to sell');
  });

  it('refuses bad input with a clear error', async () => {
    await assert.rejects(planSchedule({ ...battery, pricesEurPerMWh: [], stepHours: 1 }), /no prices/);
    await assert.rejects(planSchedule({ ...battery, pricesEurPerMWh: [1, Number.NaN], stepHours: 1 }), ScheduleError);
    await assert.rejects(planSchedule({ ...battery, socMinPct: 60, socMaxPct: 40, pricesEurPerMWh: [1], stepHours: 1 }), /SoC window/);
    await assert.rejects(planSchedule({ ...battery, etaCharge: 1.2, pricesEurPerMWh: [1], stepHours: 1 }), /efficiencies/);
  });

  it('keeps SoC and power within bounds at every step, with a consistent energy balance (random cases)', async function () {
    this.timeout(60_000);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.double({ min: -200, max: 400, noNaN: true }), { minLength: 1, maxLength: 48 }),
        fc.double({ min: 5, max: 95, noNaN: true }),
        fc.double({ min: 0.5, max: 20, noNaN: true }),
        fc.constantFrom(0.25, 1),
        fc.double({ min: 0.8, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 0.05, noNaN: true }),
        async (prices, soc, powerKw, stepHours, eta, degradation) => {
          const p: BatteryProblem = {
            ...battery, capacityKwh: 10, socStartPct: soc, pricesEurPerMWh: prices, stepHours,
            maxChargeKw: powerKw, maxDischargeKw: powerKw, etaCharge: eta, etaDischarge: eta, degradationEurPerKwh: degradation,
          };
          const s = await planSchedule(p);
          let e = (soc / 100) * 10;
          for (let t = 0; t < prices.length; t++) {
            const c = s.chargeKw[t] as number;
            const d = s.dischargeKw[t] as number;
            assert.ok(c >= 0 && c <= powerKw + 1e-6 && d >= 0 && d <= powerKw + 1e-6, `power at ${t}`);
            assert.ok(c === 0 || d === 0, `charge and discharge at once at ${t}`);
            e += c * eta * stepHours - (d * stepHours) / eta;
            close(s.socPct[t] as number, (100 * e) / 10, 1e-6, `balance at ${t}`);
            assert.ok((s.socPct[t] as number) >= 5 - 1e-6 && (s.socPct[t] as number) <= 95 + 1e-6, `SoC ${s.socPct[t]} at ${t}`);
          }
          // Doing nothing is always feasible, so the plan is never worse than it.
          assert.ok(s.objectiveEur >= -1e-6, `objective ${s.objectiveEur}`);
        },
      ),
      { numRuns: 60 },
    );
  });
});
