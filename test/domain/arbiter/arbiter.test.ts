import assert from 'node:assert/strict';
import fc from 'fast-check';
import { arbitrate } from '../../../domain/arbiter/arbitrate';
import { DecisionSchema, RequestSchema, type Envelope, type Request } from '../../../domain/contracts';

const NOW = 1_700_000_000_000;
const ramp = { rampWPerS: 1000 };

function env(over: Partial<Envelope> = {}): Envelope {
  return { siteId: 's1', ts: NOW, mode: 'NORMAL', maxChargeW: 5000, maxDischargeW: 5000, restrictions: [], alarms: [], ...over };
}
function req(level: Request['level'], powerW: number, over: Partial<Request> = {}): Request {
  return { level, source: `src-${level}`, powerW, ts: NOW - 100, expiresAt: NOW + 10_000, ...over };
}

const envelopeArb = fc.record({
  siteId: fc.constant('s1'),
  ts: fc.constant(NOW),
  mode: fc.constantFrom('NORMAL', 'DERATED', 'SAFE_MODE', 'ESTOP') as fc.Arbitrary<Envelope['mode']>,
  maxChargeW: fc.double({ min: 0, max: 1e6, noNaN: true }),
  maxDischargeW: fc.double({ min: 0, max: 1e6, noNaN: true }),
  restrictions: fc.constant<Envelope['restrictions']>([]),
  alarms: fc.constant<Envelope['alarms']>([]),
});
const requestArb = fc.record({
  level: fc.constantFrom(1, 2, 3, 4, 5) as fc.Arbitrary<Request['level']>,
  source: fc.constantFrom('estop', 'grid', 'operator', 'peak', 'arbitrage'),
  powerW: fc.double({ min: -2e6, max: 2e6, noNaN: true }),
  ts: fc.integer({ min: NOW - 60_000, max: NOW }),
  expiresAt: fc.integer({ min: NOW - 30_000, max: NOW + 60_000 }),
});
/** Valid and malformed requests mixed, each with a unique id. */
const requestsArb = fc.array(fc.oneof({ weight: 5, arbitrary: requestArb }, { weight: 1, arbitrary: fc.anything() }), { maxLength: 12 })
  .map((rs) => rs.map((r, i) => (r && typeof r === 'object' && 'powerW' in r ? { ...r, id: `r${i}` } : r)));
const previousArb = fc.option(fc.record({ setpointW: fc.double({ min: -1e6, max: 1e6, noNaN: true }), ts: fc.integer({ min: NOW - 5000, max: NOW }) }), { nil: null });

const isValid = (r: unknown): r is Request => {
  const parsed = RequestSchema.safeParse(r);
  return parsed.success && parsed.data.expiresAt > NOW;
};

describe('arbitrate', () => {
  describe('examples', () => {
    it('gives the battery to the highest level: an operator beats arbitrage', () => {
      const d = arbitrate([req(5, -3000), req(3, 2000)], env(), null, NOW, ramp);
      assert.equal(d.level, 3);
      assert.equal(d.setpointW, 2000);
      assert.deepEqual(d.ignored.map((i) => [i.source, i.why]), [['src-5', 'superseded']]);
      assert.match(d.reason, /^src-3 \(OPERATOR level\) asks to discharge 2 kW\. It overrides src-5 \(ECONOMIC level\)\.$/);
    });

    it('breaks a tie within a level in favour of the newest request', () => {
      const d = arbitrate([req(4, 1000, { source: 'old', ts: NOW - 500 }), req(4, 2000, { source: 'new', ts: NOW - 10 })], env(), null, NOW, ramp);
      assert.equal(d.source, 'new');
    });

    it('ignores and reports expired and malformed requests', () => {
      const d = arbitrate([req(3, 1000, { expiresAt: NOW - 1 }), { level: 9, source: 'bad', powerW: 'lots' }, req(5, 500)], env(), null, NOW, ramp);
      assert.equal(d.source, 'src-5');
      assert.deepEqual(d.ignored.map((i) => i.why).sort(), ['expired', 'malformed']);
      assert.match(d.ignored.find((i) => i.why === 'malformed')?.detail ?? '', /powerW/);
    });

    it('idles at 0 W when nothing valid is asked', () => {
      const d = arbitrate([], env(), null, NOW, ramp);
      assert.equal(d.setpointW, 0);
      assert.equal(d.level, null);
      assert.match(d.reason, /^No request: the battery idles at 0 kW\.$/);
    });

    it('clamps into the envelope and names the restriction that caused it', () => {
      const e = env({ maxChargeW: 1200, restrictions: [{ direction: 'charge', cause: 'CELL_VOLTAGE_TAPER', limitW: 1200, detail: 'cell 3.52 V' }] });
      const d = arbitrate([req(3, -4000)], e, null, NOW, ramp);
      assert.equal(d.setpointW, -1200);
      assert.equal(d.clamps[0]?.by, 'envelope');
      assert.match(d.clamps[0]?.why ?? '', /CELL_VOLTAGE_TAPER/);
    });

    it('ramps from the previous setpoint, at most rampWPerS per second', () => {
      const d = arbitrate([req(3, 4000)], env(), { setpointW: 0, ts: NOW - 1000 }, NOW, ramp);
      assert.equal(d.setpointW, 1000);
      assert.equal(d.clamps[0]?.by, 'ramp');
    });

    it('holds 0 W in SAFE_MODE and ESTOP whatever is asked, level 1 wins', () => {
      for (const mode of ['SAFE_MODE', 'ESTOP'] as const) {
        const d = arbitrate([req(1, 3000), req(3, 2000)], env({ mode }), { setpointW: 4000, ts: NOW - 100 }, NOW, ramp);
        assert.equal(d.setpointW, 0);
        assert.equal(d.level, 1);
        assert.ok(d.ignored.every((i) => i.why === 'safety'));
      }
    });

    it('follows a shrinking envelope at once, without waiting for the ramp', () => {
      const d = arbitrate([req(3, 4000)], env({ maxDischargeW: 500 }), { setpointW: 4000, ts: NOW - 100 }, NOW, ramp);
      assert.equal(d.setpointW, 500);
    });
  });

  describe('properties', () => {
    it('never leaves the envelope', () => {
      fc.assert(fc.property(requestsArb, envelopeArb, previousArb, (rs, e, prev) => {
        const d = arbitrate(rs, e, prev, NOW, ramp);
        return d.setpointW <= e.maxDischargeW && d.setpointW >= -e.maxChargeW && DecisionSchema.safeParse(d).success;
      }), { numRuns: 2000 });
    });

    it('lets a valid higher level always beat a lower one', () => {
      fc.assert(fc.property(requestsArb, envelopeArb.filter((e) => e.mode === 'NORMAL' || e.mode === 'DERATED'), (rs, e) => {
        const valid = rs.filter(isValid);
        const d = arbitrate(rs, e, null, NOW, ramp);
        if (valid.length === 0) return d.level === null;
        return d.level === Math.min(...valid.map((r) => r.level));
      }), { numRuns: 2000 });
    });

    it('never lets an expired or malformed request win', () => {
      fc.assert(fc.property(requestsArb, envelopeArb, previousArb, (rs, e, prev) => {
        const d = arbitrate(rs, e, prev, NOW, ramp);
        if (d.requestId === null) return true;
        const winner = rs.filter(isValid).find((r) => r.id === d.requestId);
        return winner !== undefined;
      }), { numRuns: 2000 });
    });

    it('holds 0 W whenever the envelope is in SAFE_MODE or ESTOP', () => {
      fc.assert(fc.property(requestsArb, envelopeArb.filter((e) => e.mode === 'SAFE_MODE' || e.mode === 'ESTOP'), previousArb, (rs, e, prev) =>
        arbitrate(rs, e, prev, NOW, ramp).setpointW === 0));
    });

    it('keeps every change within the ramp when the previous setpoint was inside the envelope', () => {
      fc.assert(fc.property(requestsArb, envelopeArb, previousArb, fc.double({ min: 1, max: 1e5, noNaN: true }), (rs, e, prev, rate) => {
        fc.pre(prev !== null && prev.setpointW <= e.maxDischargeW && prev.setpointW >= -e.maxChargeW && e.mode !== 'SAFE_MODE' && e.mode !== 'ESTOP');
        const d = arbitrate(rs, e, prev, NOW, { rampWPerS: rate });
        const allowed = (rate * (NOW - prev!.ts)) / 1000;
        return Math.abs(d.setpointW - prev!.setpointW) <= allowed + 1e-6 * Math.max(1, allowed);
      }), { numRuns: 2000 });
    });
  });
});
