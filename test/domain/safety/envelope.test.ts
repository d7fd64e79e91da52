import assert from 'node:assert/strict';
import fc from 'fast-check';
import { arbitrate } from '../../../domain/arbiter/arbitrate';
import { EnvelopeSchema, type BatteryTelemetry, type PcsTelemetry, type Request } from '../../../domain/contracts';
import { LFP_DEFAULTS, LfpProfileSchema, type LfpProfile } from '../../../domain/lfp/limits';
import {
  DEFAULT_SAFETY_CONFIG, envelope, INITIAL_SAFETY_STATE, latchEstop, resetEstop, type SafetyState,
} from '../../../domain/safety/envelope';

const NOW = 1_700_000_000_000;
const profile = { ...LFP_DEFAULTS, capacityWh: 10_000 };

function battery(over: Partial<BatteryTelemetry> = {}): BatteryTelemetry {
  return {
    ts: NOW - 200, soc: 50, soh: 98, voltage: 52, current: 0, power: 0, capacityWh: 10_000, energyAvailableWh: 5000,
    cellVmax: 3.30, cellVmin: 3.28, cellVavg: 3.29, cellVoltages: [], tempMax: 25, tempMin: 24, cellTemps: [],
    chargeCurrentMax: null, dischargeCurrentMax: null, chargePowerMax: null, dischargePowerMax: null, cycles: 10,
    state: 'CONNECTED', alarms: [], ...over,
  };
}
function pcs(over: Partial<PcsTelemetry> = {}): PcsTelemetry {
  return {
    ts: NOW - 200, power: 0, reactivePower: 0, frequency: 50, voltage: 230, state: 'RUNNING', gridConnected: true,
    setpointEnabled: true, setpoint: 0, revertTimeS: 5, revertRemainingS: 5, ratedPowerW: 5000, maxChargeW: 5000,
    maxDischargeW: 5000, energyInjectedWh: null, energyAbsorbedWh: null, alarms: [], ...over,
  };
}
const run = (b: Partial<BatteryTelemetry> = {}, state: SafetyState = INITIAL_SAFETY_STATE, p: Partial<PcsTelemetry> = {}) =>
  envelope({ siteId: 's1', battery: battery(b), pcs: pcs(p) }, profile, state, NOW);

describe('safety envelope', () => {
  describe('examples', () => {
    it('allows the smaller of 1C and the PCS rating in the middle of the window', () => {
      const { envelope: e } = run();
      assert.equal(e.mode, 'NORMAL');
      assert.equal(e.maxChargeW, 5000);
      assert.equal(e.maxDischargeW, 5000);
    });

    it('tapers charging linearly from 3.45 V to nothing at 3.60 V, below the 3.65 V trip, and says why', () => {
      const { envelope: e } = run({ cellVmax: 3.55 });
      assert.equal(e.mode, 'DERATED');
      assert.ok(Math.abs(e.maxChargeW - 5000 / 3) < 1e-6);
      assert.equal(run({ cellVmax: 3.6 }).envelope.maxChargeW, 0);
      assert.equal(e.maxDischargeW, 5000);
      assert.ok(e.restrictions.some((r) => r.cause === 'CELL_VOLTAGE_TAPER' && r.direction === 'charge'));
    });

    it("treats the PCS's anti-islanding trip as a warning, but any other PCS alarm as a fault", () => {
      const trip = run({}, INITIAL_SAFETY_STATE, { alarms: ['GRID_DISCONNECT'] }).envelope;
      assert.equal(trip.mode, 'NORMAL');
      assert.deepEqual(trip.alarms.map((a) => [a.code, a.severity]), [['GRID_DISCONNECTED', 'warning']]);
      const fault = run({}, INITIAL_SAFETY_STATE, { alarms: ['GRID_DISCONNECT', 'OVER_TEMPERATURE'] }).envelope;
      assert.equal(fault.mode, 'SAFE_MODE');
      assert.equal(fault.maxChargeW + fault.maxDischargeW, 0);
      assert.ok(fault.alarms.some((a) => a.code === 'PCS_FAULT' && a.message.endsWith('OVER_TEMPERATURE')));
    });

    it('tapers discharging from 3.00 V to nothing at 2.60 V', () => {
      const { envelope: e } = run({ cellVmin: 2.8 });
      assert.ok(Math.abs(e.maxDischargeW - 2500) < 1e-6);
    });

    it('goes to SAFE_MODE above the hard cell voltage and stays there until 50 mV back inside', () => {
      const over = run({ cellVmax: 3.66 });
      assert.equal(over.envelope.mode, 'SAFE_MODE');
      assert.equal(over.envelope.maxChargeW + over.envelope.maxDischargeW, 0);
      assert.equal(run({ cellVmax: 3.63 }, over.state).envelope.mode, 'SAFE_MODE');
      assert.equal(run({ cellVmax: 3.59 }, over.state).envelope.mode, 'DERATED');
    });

    it('stops charging below 0 degC and above 45 degC, derates from 40 degC', () => {
      assert.equal(run({ tempMin: -1 }).envelope.maxChargeW, 0);
      assert.equal(run({ tempMax: 46 }).envelope.maxChargeW, 0);
      assert.ok(Math.abs(run({ tempMax: 42.5 }).envelope.maxChargeW - 2500) < 1e-6);
      assert.equal(run({ tempMin: -1 }).envelope.maxDischargeW, 5000);
    });

    it('goes to SAFE_MODE outside the discharge temperature window', () => {
      assert.equal(run({ tempMax: 56 }).envelope.mode, 'SAFE_MODE');
      assert.equal(run({ tempMin: -21 }).envelope.mode, 'SAFE_MODE');
    });

    it('keeps the SoC window: no charge at 95 %, no discharge at 5 %', () => {
      assert.equal(run({ soc: 95 }).envelope.maxChargeW, 0);
      assert.equal(run({ soc: 5 }).envelope.maxDischargeW, 0);
    });

    it('respects the BMS current limits at the pack voltage', () => {
      const { envelope: e } = run({ chargeCurrentMax: 20, dischargeCurrentMax: 50, voltage: 50 });
      assert.equal(e.maxChargeW, 1000);
      assert.equal(e.maxDischargeW, 2500);
    });

    it('goes to SAFE_MODE on a device fault, a BMS alarm, or stale telemetry', () => {
      assert.equal(run({}, INITIAL_SAFETY_STATE, { state: 'FAULT' }).envelope.mode, 'SAFE_MODE');
      assert.equal(run({ alarms: ['OVER_TEMP_ALARM'] }).envelope.mode, 'SAFE_MODE');
      assert.equal(run({ ts: NOW - 3001 }).envelope.mode, 'SAFE_MODE');
      assert.equal(run({ ts: NOW - 2999 }).envelope.mode, 'NORMAL');
      assert.equal(envelope({ siteId: 's1' }, profile, INITIAL_SAFETY_STATE, NOW).envelope.mode, 'SAFE_MODE');
    });

    it('warns about a cell spread above 100 mV without restricting power', () => {
      const { envelope: e } = run({ cellVmax: 3.40, cellVmin: 3.28 });
      assert.ok(e.alarms.some((a) => a.code === 'CELL_SPREAD' && a.severity === 'warning'));
      assert.equal(e.mode, 'NORMAL');
    });

    it('latches the e-stop until it is reset, whatever the telemetry does', () => {
      const stopped = latchEstop(INITIAL_SAFETY_STATE, 'operator@example.com', NOW);
      assert.equal(run({}, stopped).envelope.mode, 'ESTOP');
      assert.equal(latchEstop(stopped, 'someone-else', NOW + 1).estop.by, 'operator@example.com');
      assert.equal(run({}, resetEstop(stopped)).envelope.mode, 'NORMAL');
    });
  });

  describe('properties', () => {
    const batteryArb: fc.Arbitrary<BatteryTelemetry> = fc.record({
      ts: fc.integer({ min: NOW - 20_000, max: NOW }),
      soc: fc.double({ min: 0, max: 100, noNaN: true }),
      cellVmax: fc.double({ min: 2.0, max: 4.0, noNaN: true }),
      spread: fc.double({ min: 0, max: 0.5, noNaN: true }),
      tempMax: fc.double({ min: -40, max: 80, noNaN: true }),
      tspread: fc.double({ min: 0, max: 20, noNaN: true }),
      chargeCurrentMax: fc.option(fc.double({ min: 0, max: 500, noNaN: true }), { nil: null }),
      dischargeCurrentMax: fc.option(fc.double({ min: 0, max: 500, noNaN: true }), { nil: null }),
      alarms: fc.subarray(['OVER_TEMP_ALARM', 'OVER_VOLT_WARNING', 'UNDER_SOC_MIN_WARNING']),
      state: fc.constantFrom('CONNECTED', 'FAULT', 'STANDBY'),
    }).map((r) => battery({
      ts: r.ts, soc: r.soc, cellVmax: r.cellVmax, cellVmin: r.cellVmax - r.spread, tempMax: r.tempMax, tempMin: r.tempMax - r.tspread,
      chargeCurrentMax: r.chargeCurrentMax, dischargeCurrentMax: r.dischargeCurrentMax, alarms: r.alarms, state: r.state,
    }));
    const profileArb: fc.Arbitrary<LfpProfile & { capacityWh: number }> = fc.record({
      maxV: fc.double({ min: 3.5, max: 3.8, noNaN: true }),
      taper: fc.double({ min: 0.05, max: 0.3, noNaN: true }),
      maxC: fc.double({ min: 0.1, max: 3, noNaN: true }),
      capacityWh: fc.double({ min: 1000, max: 1e6, noNaN: true }),
    }).map((r) => ({ ...LFP_DEFAULTS, cellVoltageMaxV: r.maxV, chargeTaperEndV: r.maxV - 0.02, chargeTaperStartV: r.maxV - 0.02 - r.taper, cellVoltageWarnHighV: r.maxV - 0.01, maxChargeC: r.maxC, maxDischargeC: r.maxC, capacityWh: r.capacityWh }))
      .filter((p) => LfpProfileSchema.safeParse(p).success);
    const pcsArb = fc.option(fc.record({ ts: fc.integer({ min: NOW - 20_000, max: NOW }), rated: fc.double({ min: 0, max: 1e6, noNaN: true }), state: fc.constantFrom('RUNNING', 'FAULT') })
      .map((r) => pcs({ ts: r.ts, ratedPowerW: r.rated, maxChargeW: r.rated, maxDischargeW: r.rated, state: r.state })), { nil: undefined });

    it('always yields a well-formed envelope with finite, non-negative limits', () => {
      fc.assert(fc.property(batteryArb, profileArb, pcsArb, (b, p, c) => {
        const { envelope: e } = envelope({ siteId: 's1', battery: b, pcs: c }, p, INITIAL_SAFETY_STATE, NOW);
        return EnvelopeSchema.safeParse(e).success && Number.isFinite(e.maxChargeW) && Number.isFinite(e.maxDischargeW);
      }), { numRuns: 1000 });
    });

    it('never allows charging with a cell at or above its hard limit or outside the charge temperatures', () => {
      fc.assert(fc.property(batteryArb, profileArb, pcsArb, (b, p, c) => {
        const { envelope: e } = envelope({ siteId: 's1', battery: b, pcs: c }, p, INITIAL_SAFETY_STATE, NOW);
        const mustNotCharge = b.cellVmax >= p.cellVoltageMaxV || Number(b.tempMin) < p.chargeTempMinC || Number(b.tempMax) > p.chargeTempMaxC || b.soc >= p.socMaxPct;
        return !mustNotCharge || e.maxChargeW === 0;
      }), { numRuns: 1000 });
    });

    it('never allows discharging with a cell at or below its hard limit or an empty battery', () => {
      fc.assert(fc.property(batteryArb, profileArb, pcsArb, (b, p, c) => {
        const { envelope: e } = envelope({ siteId: 's1', battery: b, pcs: c }, p, INITIAL_SAFETY_STATE, NOW);
        const mustNot = b.cellVmin <= p.cellVoltageMinV || b.soc <= p.socMinPct || Number(b.tempMax) >= p.dischargeTempMaxC;
        return !mustNot || e.maxDischargeW === 0;
      }), { numRuns: 1000 });
    });

    it('never allows more than 1C (as configured), the BMS limit or the PCS rating', () => {
      fc.assert(fc.property(batteryArb, profileArb, pcsArb, (b, p, c) => {
        const { envelope: e } = envelope({ siteId: 's1', battery: b, pcs: c }, p, INITIAL_SAFETY_STATE, NOW);
        const caps = [p.maxChargeC * p.capacityWh, b.chargeCurrentMax === null ? Infinity : b.chargeCurrentMax * b.voltage, c?.maxChargeW ?? Infinity];
        return e.maxChargeW <= Math.min(...caps) + 1e-9;
      }), { numRuns: 1000 });
    });

    it('yields 0 W from the arbiter whenever telemetry is older than the configured cycles', () => {
      const reqArb = fc.array(fc.record({
        level: fc.constantFrom(1, 2, 3, 4, 5) as fc.Arbitrary<Request['level']>, source: fc.constant('x'),
        powerW: fc.double({ min: -1e6, max: 1e6, noNaN: true }), ts: fc.constant(NOW - 10), expiresAt: fc.constant(NOW + 10_000),
      }), { maxLength: 5 });
      fc.assert(fc.property(batteryArb, profileArb, reqArb, fc.integer({ min: 1, max: 10 }), fc.integer({ min: 10, max: 5000 }), (b, p, rs, cycles, cycleMs) => {
        const config = { ...DEFAULT_SAFETY_CONFIG, staleCycles: cycles, cycleMs };
        const { envelope: e } = envelope({ siteId: 's1', battery: b }, p, INITIAL_SAFETY_STATE, NOW, config);
        const d = arbitrate(rs, e, { setpointW: 1000, ts: NOW - cycleMs }, NOW, { rampWPerS: 100 });
        return NOW - b.ts <= cycles * cycleMs || (e.mode === 'SAFE_MODE' && d.setpointW === 0);
      }), { numRuns: 1000 });
    });

    describe('with measurements the BMS does not report', () => {
      /** Which temperatures are missing: both, only the highest, only the lowest. */
      const missingArb = fc.constantFrom<Partial<BatteryTelemetry>>({ tempMax: null, tempMin: null }, { tempMax: null }, { tempMin: null });
      const deratingArb = fc.double({ min: 0, max: 1, noNaN: true });

      it('is never looser than with the temperatures measured at a benign 25 degC, nor than the derated BMS and pack limits', () => {
        fc.assert(fc.property(batteryArb, profileArb, pcsArb, missingArb, deratingArb, (b, p, c, missing, d) => {
          const config = { ...DEFAULT_SAFETY_CONFIG, unmeasuredDerating: d };
          const measured = envelope({ siteId: 's1', battery: { ...b, tempMax: 25, tempMin: 24 }, pcs: c }, p, INITIAL_SAFETY_STATE, NOW, config).envelope;
          const { envelope: e } = envelope({ siteId: 's1', battery: { ...b, ...missing }, pcs: c }, p, INITIAL_SAFETY_STATE, NOW, config);
          const pack = (bms: number | null, pcsW: number | null | undefined, c_: number): number =>
            Math.min(c_ * p.capacityWh, bms === null ? Infinity : bms * b.voltage, pcsW ?? Infinity);
          const chargeCap = pack(b.chargeCurrentMax, c?.maxChargeW, p.maxChargeC);
          const dischargeCap = pack(b.dischargeCurrentMax, c?.maxDischargeW, p.maxDischargeC);
          return e.maxChargeW <= measured.maxChargeW + 1e-9 && e.maxDischargeW <= measured.maxDischargeW + 1e-9
            && e.maxChargeW <= d * chargeCap + 1e-9 && e.maxDischargeW <= d * dischargeCap + 1e-9
            && Number.isFinite(e.maxChargeW) && Number.isFinite(e.maxDischargeW);
        }), { numRuns: 1000 });
      });

      it('always says so: a warning, and never NORMAL', () => {
        fc.assert(fc.property(batteryArb, profileArb, pcsArb, missingArb, (b, p, c, missing) => {
          const { envelope: e } = envelope({ siteId: 's1', battery: { ...b, ...missing }, pcs: c }, p, INITIAL_SAFETY_STATE, NOW);
          return e.mode !== 'NORMAL' && e.alarms.some((a) => a.code === 'TEMPERATURE_UNMEASURED' && a.severity === 'warning');
        }), { numRuns: 500 });
      });

      it('keeps a tripped temperature limit tripped while the temperature is unmeasured', () => {
        fc.assert(fc.property(batteryArb, profileArb, pcsArb, (b, p, c) => {
          const state = { ...INITIAL_SAFETY_STATE, tripped: ['OVER_TEMPERATURE'] };
          const r = envelope({ siteId: 's1', battery: { ...b, tempMax: null, tempMin: null }, pcs: c }, p, state, NOW);
          return r.state.tripped.includes('OVER_TEMPERATURE') && r.envelope.maxChargeW === 0 && r.envelope.maxDischargeW === 0;
        }), { numRuns: 300 });
      });

      it('example: no cell temperatures -> half the BMS current limits, DERATED, and the warning names why', () => {
        const { envelope: e } = run({ tempMax: null, tempMin: null, chargeCurrentMax: 50, dischargeCurrentMax: 80 });
        assert.equal(e.mode, 'DERATED');
        assert.equal(e.maxChargeW, 0.5 * 50 * 52);
        assert.equal(e.maxDischargeW, 0.5 * 80 * 52);
        const w = e.alarms.find((a) => a.code === 'TEMPERATURE_UNMEASURED');
        assert.equal(w?.severity, 'warning');
        assert.match(w?.message ?? '', /no cell temperature from the BMS .*derated to 50 %/);
        assert.ok(e.restrictions.some((r) => r.cause === 'TEMPERATURE_UNMEASURED' && /BMS's current limit/.test(r.detail)));
      });
    });
  });
});
