// The e-stop latch and its record, as safety-limits runs them: any sequence of e-stops, resets,
// redeploys, restarts, crashes, control cycles and a store that fails writes or loses its record,
// checked step by step against the envelope the node would send for healthy telemetry.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { BatteryTelemetry, Envelope } from '../../../domain/contracts';
import { LFP_DEFAULTS } from '../../../domain/lfp/limits';
import { envelope } from '../../../domain/safety/envelope';
import {
  LatchKeeper, RELEASED, UNREADABLE_BY, UNWRITABLE_BY, latchAtStart, type EstopLatch, type LatchStore,
} from '../../../domain/safety/latch';

const NOW = 1_700_000_000_000;
const profile = { ...LFP_DEFAULTS, capacityWh: 10_000 };
const battery: BatteryTelemetry = {
  ts: NOW, soc: 50, soh: 98, voltage: 52, current: 0, power: 0, capacityWh: 10_000, energyAvailableWh: 5000,
  cellVmax: 3.30, cellVmin: 3.28, cellVavg: 3.29, cellVoltages: [], tempMax: 25, tempMin: 24, cellTemps: [],
  chargeCurrentMax: null, dischargeCurrentMax: null, chargePowerMax: null, dischargePowerMax: null, cycles: 10,
  state: 'CONNECTED', alarms: [],
};

/** The envelope safety-limits sends for healthy telemetry with this keeper's latch. */
function output(k: LatchKeeper): Envelope {
  return envelope({ siteId: 's1', battery }, profile, { estop: k.estop, tripped: [], unpersisted: k.unpersisted }, NOW).envelope;
}
const allows = (e: Envelope): boolean => e.maxChargeW > 0 || e.maxDischargeW > 0;

/** A store whose record survives every keeper; writes fail while it is broken. */
class FakeDisk {
  record: EstopLatch | 'garbled' | null = null;
  broken = false;
  readonly store: LatchStore = {
    read: () => (this.record === null ? { kind: 'absent' } : this.record === 'garbled' ? { kind: 'unreadable', reason: 'garbled' } : { kind: 'found', estop: this.record }),
    write: (estop) => {
      if (this.broken) throw new Error('EROFS: read-only file system');
      this.record = estop;
    },
  };
}

type Op =
  | { op: 'estop' } | { op: 'reset' } | { op: 'cycle' }
  /** Node-RED stops the node (close) and starts a new one: a redeploy, or a restart of Node-RED. */
  | { op: 'redeploy' } | { op: 'restart' }
  /** The process dies: no close. */
  | { op: 'crash' }
  | { op: 'break' } | { op: 'heal' } | { op: 'garble' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.constant<Op>({ op: 'estop' }) },
  { weight: 3, arbitrary: fc.constant<Op>({ op: 'reset' }) },
  { weight: 3, arbitrary: fc.constant<Op>({ op: 'cycle' }) },
  { weight: 2, arbitrary: fc.constant<Op>({ op: 'redeploy' }) },
  { weight: 2, arbitrary: fc.constant<Op>({ op: 'restart' }) },
  { weight: 1, arbitrary: fc.constant<Op>({ op: 'crash' }) },
  { weight: 2, arbitrary: fc.constant<Op>({ op: 'break' }) },
  { weight: 2, arbitrary: fc.constant<Op>({ op: 'heal' }) },
  { weight: 1, arbitrary: fc.constant<Op>({ op: 'garble' }) },
);

describe('e-stop latch and its record', () => {
  it('starts from the record, an older store\'s latch, or released; an unreadable record counts as latched', () => {
    const latched: EstopLatch = { latched: true, by: 'ops', since: 1 };
    assert.deepEqual(latchAtStart({ kind: 'found', estop: latched }, undefined, NOW), latched);
    assert.deepEqual(latchAtStart({ kind: 'found', estop: RELEASED }, latched, NOW), RELEASED, 'the record wins over the older store');
    assert.deepEqual(latchAtStart({ kind: 'absent' }, latched, NOW), latched);
    assert.deepEqual(latchAtStart({ kind: 'absent' }, undefined, NOW), RELEASED);
    assert.deepEqual(latchAtStart({ kind: 'unreadable', reason: 'x' }, undefined, NOW), { latched: true, by: UNREADABLE_BY, since: NOW });
  });

  it('writes the e-stop before it is in force, and holds 0 W with the reason while it cannot', () => {
    const disk = new FakeDisk();
    const k = new LatchKeeper(disk.store, NOW);
    assert.ok(allows(output(k)));
    disk.broken = true;
    k.command({ type: 'estop', by: 'ops' }, NOW);
    assert.equal(k.estop.latched, true, 'an e-stop stops even when it cannot be saved');
    assert.equal(k.event.kind, 'write-failed');
    const e = output(k);
    assert.equal(e.mode, 'ESTOP');
    assert.ok(e.alarms.some((a) => a.code === 'LATCH_NOT_SAVED' && a.severity === 'critical'));
    disk.broken = false;
    k.retry();
    assert.equal(k.unpersisted, null);
    assert.deepEqual(disk.record, k.estop);
  });

  it('does not release on a reset it cannot save', () => {
    const disk = new FakeDisk();
    const k = new LatchKeeper(disk.store, NOW);
    k.command({ type: 'estop', by: 'ops' }, NOW);
    disk.broken = true;
    k.command({ type: 'reset', by: 'ops' }, NOW);
    assert.equal(k.estop.latched, true);
    assert.equal(output(k).mode, 'ESTOP');
    disk.broken = false;
    k.retry();
    assert.equal(k.estop.latched, true, 'a retry saves the latch, it does not complete the reset');
    k.command({ type: 'reset', by: 'ops' }, NOW);
    assert.equal(output(k).mode, 'NORMAL');
  });

  it('latches at a start that cannot write its record, until a reset once it can', () => {
    const disk = new FakeDisk();
    disk.broken = true;
    const k = new LatchKeeper(disk.store, NOW);
    assert.deepEqual(k.estop, { latched: true, by: UNWRITABLE_BY, since: NOW });
    assert.equal(allows(output(k)), false);
    disk.broken = false;
    k.retry();
    assert.equal(output(k).mode, 'ESTOP');
    k.command({ type: 'reset', by: 'ops' }, NOW);
    assert.ok(allows(output(k)));
  });

  it('carries a latch from an older store into the record once', () => {
    const disk = new FakeDisk();
    const k = new LatchKeeper(disk.store, NOW, { latched: true, by: 'ops', since: 5 });
    assert.equal(k.event.kind, 'carried');
    assert.deepEqual(disk.record, { latched: true, by: 'ops', since: 5 });
    assert.equal(new LatchKeeper(disk.store, NOW).estop.latched, true);
  });

  it('never allows power without a saved reset after the last e-stop, in any sequence of commands, restarts and failing writes', () => {
    fc.assert(fc.property(fc.array(opArb, { minLength: 1, maxLength: 60 }), (ops) => {
      const disk = new FakeDisk();
      let k = new LatchKeeper(disk.store, NOW);
      /** The battery must stay stopped: an e-stop came (or a record said latched) and no saved reset since. */
      let mustStop = false;
      /** The one case no store covers (LatchKeeper's doc): an unsaved e-stop, then a crash, then a working store. */
      let lost = false;
      let prev = output(k);
      const restart = (graceful: boolean): void => {
        const unsavedLatch = k.estop.latched && k.unpersisted !== null;
        if (graceful) k.close();
        const savedNow = disk.record === 'garbled' || (disk.record?.latched ?? false);
        const wasBroken = disk.broken;
        // An unreadable record stops the battery from this start on, until a reset.
        if (disk.record === 'garbled') { mustStop = true; lost = false; }
        k = new LatchKeeper(disk.store, NOW);
        if (savedNow) assert.equal(k.estop.latched, true, 'a latch saved before a restart is latched after it');
        if (!graceful && unsavedLatch && !savedNow && !wasBroken) lost = true;
      };
      for (const o of ops) {
        let savedReset = false;
        switch (o.op) {
          case 'estop': k.command({ type: 'estop', by: 'ops' }, NOW); mustStop = true; lost = false; break;
          case 'reset': {
            // Saved exactly when the store takes writes now: the model's own judgement, not the keeper's.
            const saved = !disk.broken;
            k.command({ type: 'reset', by: 'ops' }, NOW);
            if (saved) { mustStop = false; lost = false; }
            savedReset = saved;
            break;
          }
          case 'cycle': k.retry(); break;
          case 'redeploy': case 'restart': restart(true); break;
          case 'crash': restart(false); break;
          case 'break': disk.broken = true; break;
          case 'heal': disk.broken = false; break;
          case 'garble': disk.record = 'garbled'; break;
        }
        const e = output(k);
        if (k.estop.latched || k.unpersisted !== null) {
          assert.equal(allows(e), false, `${o.op}: latched or unsaved, yet power is allowed`);
        }
        if (mustStop && !lost) assert.equal(allows(e), false, `${o.op}: released without a saved reset after the last e-stop`);
        if (prev.mode === 'ESTOP' && e.mode !== 'ESTOP' && !lost) assert.ok(savedReset, `released by ${o.op}`);
        prev = e;
      }
    }), { numRuns: 3000 });
  });
});
