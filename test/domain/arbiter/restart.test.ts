// A reset restarts nothing by itself (IEC 60204-1; README, "Safety and arbitration"): the arbiter's
// state driven through arbitrary sequences of envelopes, requests, resets and resumes.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ArbiterState } from '../../../domain/arbiter/controller';
import { LATE_NOTICE_MS } from '../../../domain/arbiter/restart';
import { executedDetails } from '../../../domain/commands/operator';
import { LEVELS, type Envelope, type Level, type Mode, type Request } from '../../../domain/contracts';

const T0 = 1_700_000_000_000;

function env(mode: Mode, ts: number, over: Partial<Envelope> = {}): Envelope {
  const alarms: Envelope['alarms'] = mode === 'ESTOP'
    ? [{ code: 'ESTOP', severity: 'critical', message: 'emergency stop by op', source: 'safety-envelope', ts, active: true }]
    : mode === 'SAFE_MODE' ? [{ code: 'OVER_TEMPERATURE', severity: 'critical', message: 'cell 58 degC', source: 'safety-envelope', ts, active: true }] : [];
  return { siteId: 's1', ts, mode, maxChargeW: 5000, maxDischargeW: 5000, restrictions: [], alarms, ...over };
}

type Step =
  | { kind: 'envelope'; mode: Mode; dt: number }
  | { kind: 'request'; level: Level; powerW: number; dt: number }
  | { kind: 'reset'; resume: boolean; dt: number }
  | { kind: 'resume'; dt: number };

const dtArb = fc.integer({ min: 0, max: 3000 });
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('envelope' as const), mode: fc.constantFrom<Mode>('NORMAL', 'DERATED', 'SAFE_MODE', 'ESTOP'), dt: dtArb }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('request' as const), level: fc.constantFrom<Level>(2, 3, 4, 5), powerW: fc.integer({ min: -8000, max: 8000 }), dt: dtArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reset' as const), resume: fc.boolean(), dt: dtArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('resume' as const), dt: dtArb }) },
);

/**
 * Runs the steps (after a first NORMAL envelope: the battery has operated) and checks every
 * decision against what the test itself knows: when the latest return from a hold was, whether
 * anyone resumed automatic operation since, and which requests came after it.
 */
function run(steps: Step[], rampWPerS: number): void {
  const arbiter = new ArbiterState({ rampWPerS });
  let now = T0;
  arbiter.decide(env('NORMAL', now), now);
  const made = new Map<string, Request>();
  let held = false;
  let latestReset = -Infinity;
  /** A reset with resume during the current hold, or a resume after the latest return. */
  let resumeDuringHold = false;
  let automatic = true;
  /** Whether the latest return had no reset of its own (a late reset notice may still claim it). */
  let unclaimed = false;
  let pendingReset = false;
  let n = 0;
  for (const s of steps) {
    now += s.dt;
    if (s.kind === 'request') {
      const r: Request = { level: s.level, source: `src-${s.level}`, powerW: s.powerW, ts: now, expiresAt: now + 60_000, id: `r${n++}` };
      made.set(r.id ?? '', r);
      arbiter.request(r);
    } else if (s.kind === 'reset') {
      if (held) {
        resumeDuringHold = s.resume;
        pendingReset = true;
      } else if (unclaimed && now - latestReset <= LATE_NOTICE_MS) {
        automatic ||= s.resume;
        unclaimed = false;
      }
      arbiter.notice({ type: 'reset', by: 'tech', resume: s.resume }, now);
    } else if (s.kind === 'resume') {
      automatic = true;
      unclaimed = false;
      arbiter.notice({ type: 'resume', by: 'op', resume: true }, now);
    } else {
      const isHold = s.mode === 'SAFE_MODE' || s.mode === 'ESTOP';
      // A SAFE_MODE after the reset's release voids the reset's choice (restart.ts).
      if (isHold && s.mode === 'SAFE_MODE') {
        resumeDuringHold = false;
        pendingReset = false;
      }
      if (!isHold && held) {
        latestReset = now;
        automatic = resumeDuringHold;
        unclaimed = !pendingReset;
      }
      if (!isHold) {
        resumeDuringHold = false;
        pendingReset = false;
      }
      held = isHold;
      const d = arbiter.decide(env(s.mode, now), now);
      if (isHold) {
        assert.equal(d.setpointW, 0);
        continue;
      }
      if (d.setpointW !== 0) {
        const winner = made.get(d.requestId ?? '');
        assert.ok(winner, `a non-zero setpoint ${d.setpointW} W without a request of ours: ${d.reason}`);
        assert.ok(winner.ts > latestReset, `${d.setpointW} W from a request made at ${winner.ts - T0}, before the reset at ${latestReset - T0}`);
        if (!automatic) assert.equal(winner.level, LEVELS.OPERATOR, `automatic level ${winner.level} runs after a plain reset: ${d.reason}`);
      }
    }
  }
}

describe('a reset restarts nothing by itself', () => {
  it('property: no setpoint other than 0 W ever comes from a request made before the latest reset', () => {
    fc.assert(fc.property(fc.array(stepArb, { maxLength: 60 }), fc.constantFrom(100, 1000, 1e9), (steps, ramp) => run(steps, ramp)), { numRuns: 400 });
  });

  it('property: after a plain reset nothing moves until someone makes a new operator request or resumes automatic operation', () => {
    fc.assert(fc.property(fc.array(stepArb, { maxLength: 40 }), fc.integer({ min: -8000, max: 8000 }), (after, powerW) => {
      const arbiter = new ArbiterState({ rampWPerS: 1e9 });
      let now = T0;
      arbiter.decide(env('NORMAL', now), now);
      for (const level of [2, 3, 4, 5] as const) arbiter.request({ level, source: `src-${level}`, powerW, ts: now, expiresAt: now + 3_600_000 });
      arbiter.decide(env('ESTOP', (now += 1000)), now);
      arbiter.request({ level: 3, source: 'operator', powerW: -2000, ts: (now += 10), expiresAt: now + 3_600_000 });
      arbiter.notice({ type: 'reset', by: 'tech', resume: false }, (now += 10));
      // Only automatic requests and envelopes from here on: none of them may move the battery.
      for (const s of after) {
        now += s.dt;
        if (s.kind === 'request' && s.level !== 3) arbiter.request({ level: s.level, source: `src-${s.level}`, powerW: s.powerW, ts: now, expiresAt: now + 60_000 });
        if (s.kind === 'envelope') assert.equal(arbiter.decide(env(s.mode, now), now).setpointW, 0);
      }
    }), { numRuns: 300 });
  });

  it('holds 0 W after a plain e-stop reset although an operator asked -2000 W during the stop, and says why', () => {
    const a = new ArbiterState({ rampWPerS: 1000 });
    a.decide(env('NORMAL', T0), T0);
    a.request({ level: 5, source: 'arbitrage', powerW: 1500, ts: T0, expiresAt: T0 + 900_000 });
    a.decide(env('ESTOP', T0 + 1000), T0 + 1000);
    a.request({ level: 3, source: 'operator', powerW: -2000, ts: T0 + 2000, expiresAt: T0 + 900_000, id: 'c1', reason: 'setpoint by op@example.com' });
    a.notice({ type: 'reset', by: 'tech@example.com', resume: false }, T0 + 3000);
    for (let t = T0 + 4000; t < T0 + 30_000; t += 1000) {
      const d = a.decide(env('NORMAL', t), t);
      assert.equal(d.setpointW, 0);
      assert.deepEqual(d.hold, { since: T0 + 4000, by: 'tech@example.com', automatic: false });
      assert.deepEqual(d.ignored.map((i) => [i.source, i.why]).sort(), [['arbitrage', 'reset'], ['operator', 'reset']]);
      assert.match(d.reason, /^Held at 0 kW since the reset at \d\d:\d\d:\d\d UTC by tech@example\.com: nothing runs until someone sends a setpoint or resumes automatic operation\./);
    }
    // A new setpoint moves it; automatic operation stays off.
    a.request({ level: 3, source: 'operator', powerW: 1000, ts: T0 + 31_000, expiresAt: T0 + 900_000, id: 'c2' });
    assert.equal(a.decide(env('NORMAL', T0 + 32_000), T0 + 32_000).setpointW, 1000);
  });

  it('resumes the automatic levels with their next request when the reset asks for it', () => {
    const a = new ArbiterState({ rampWPerS: 1e9 });
    a.decide(env('NORMAL', T0), T0);
    a.decide(env('ESTOP', T0 + 1000), T0 + 1000);
    a.notice({ type: 'reset', by: 'tech', resume: true }, T0 + 2000);
    assert.equal(a.decide(env('NORMAL', T0 + 3000), T0 + 3000).hold, null);
    a.request({ level: 5, source: 'arbitrage', powerW: 1500, ts: T0 + 4000, expiresAt: T0 + 900_000 });
    const d = a.decide(env('NORMAL', T0 + 5000), T0 + 5000);
    assert.equal(d.setpointW, 1500);
    assert.equal(d.source, 'arbitrage');
  });

  it('takes a reset notice that arrives just after the release it caused', () => {
    const a = new ArbiterState({ rampWPerS: 1e9 });
    a.decide(env('NORMAL', T0), T0);
    a.decide(env('ESTOP', T0 + 1000), T0 + 1000);
    a.decide(env('NORMAL', T0 + 2000), T0 + 2000);
    a.notice({ type: 'reset', by: 'tech', resume: true }, T0 + 2010);
    a.request({ level: 4, source: 'peak-shaving', powerW: 700, ts: T0 + 2500, expiresAt: T0 + 900_000 });
    assert.equal(a.decide(env('NORMAL', T0 + 3000), T0 + 3000).setpointW, 700);
  });

  it('does not count a hold before the battery first operated as a stop to restart from, but an e-stop latched at start', () => {
    const startup = new ArbiterState({ rampWPerS: 1e9 });
    const missing: Envelope['alarms'] = [{ code: 'TELEMETRY_MISSING', severity: 'critical', message: 'no battery telemetry', source: 'safety-envelope', ts: T0, active: true }];
    const stale: Envelope['alarms'] = [{ code: 'TELEMETRY_STALE', severity: 'critical', message: 'PCS telemetry 4000 ms old', source: 'safety-envelope', ts: T0, active: true }];
    startup.request({ level: 5, source: 'arbitrage', powerW: 1500, ts: T0, expiresAt: T0 + 900_000 });
    startup.decide(env('SAFE_MODE', T0, { alarms: missing }), T0);
    startup.decide(env('SAFE_MODE', T0 + 1000, { alarms: stale }), T0 + 1000);
    assert.equal(startup.decide(env('NORMAL', T0 + 2000), T0 + 2000).setpointW, 1500);

    const latched = new ArbiterState({ rampWPerS: 1e9 });
    latched.request({ level: 5, source: 'arbitrage', powerW: 1500, ts: T0, expiresAt: T0 + 900_000 });
    latched.decide(env('ESTOP', T0), T0);
    latched.notice({ type: 'reset', by: 'tech', resume: false }, T0 + 500);
    assert.equal(latched.decide(env('NORMAL', T0 + 1000), T0 + 1000).setpointW, 0);
  });

  it('holds after SAFE_MODE clears by itself: an earlier setpoint does not resume', () => {
    const a = new ArbiterState({ rampWPerS: 1e9 });
    a.request({ level: 3, source: 'operator', powerW: 2000, ts: T0, expiresAt: T0 + 900_000 });
    assert.equal(a.decide(env('NORMAL', T0 + 10), T0 + 10).setpointW, 2000);
    a.decide(env('SAFE_MODE', T0 + 1000), T0 + 1000);
    const d = a.decide(env('NORMAL', T0 + 2000), T0 + 2000);
    assert.equal(d.setpointW, 0);
    assert.match(d.reason, /\(SAFE_MODE cleared\)/);
  });
});

describe('honest decisions', () => {
  const pcs = { maxDischargeW: 4990, restrictions: [{ direction: 'discharge' as const, cause: 'PCS_RATING', limitW: 4990, detail: 'PCS discharge rating' }, { direction: 'discharge' as const, cause: 'C_RATE', limitW: 5120, detail: '0.5 C' }] };

  it('reports the limit a clamped setpoint settles at in sentences with kW, even while the ramp still climbs', () => {
    const a = new ArbiterState({ rampWPerS: 1000 });
    a.decide(env('NORMAL', T0, pcs), T0);
    a.request({ level: 3, source: 'operator', powerW: 50_000, ts: T0 + 10, expiresAt: T0 + 900_000, id: 'c1', reason: 'setpoint by op@example.com' });
    a.request({ level: 5, source: 'arbitrage', powerW: -1000, ts: T0 + 10, expiresAt: T0 + 900_000 });
    const d = a.decide(env('NORMAL', T0 + 1000, pcs), T0 + 1000);
    assert.equal(d.setpointW, 1000);
    assert.deepEqual(d.limit, { direction: 'discharge', appliedW: 4990, causes: ['PCS_RATING'] });
    assert.equal(d.reason, 'The operator asks to discharge 50 kW (setpoint by op@example.com). Limited to 4.99 kW by the PCS rating. Ramping at 1 kW/s: discharge 1 kW now. It overrides arbitrage (ECONOMIC level).');
    assert.equal(d.expiresAt, T0 + 900_000);
    assert.deepEqual(executedDetails(d), { requestedW: 50_000, appliedW: 4990, limitedBy: 'the PCS rating', reason: 'limited to 4.99 kW by the PCS rating (asked 50 kW)' });
  });

  it('reports no limit for a setpoint inside the envelope', () => {
    const a = new ArbiterState({ rampWPerS: 1e9 });
    a.request({ level: 3, source: 'operator', powerW: -2000, ts: T0, expiresAt: T0 + 900_000 });
    const d = a.decide(env('NORMAL', T0 + 10, pcs), T0 + 10);
    assert.equal(d.limit, null);
    assert.deepEqual(executedDetails(d), { requestedW: -2000, appliedW: -2000 });
    assert.equal(d.reason, 'The operator asks to charge 2 kW.');
  });
});
