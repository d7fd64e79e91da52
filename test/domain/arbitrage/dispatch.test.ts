// From the plan's step to the battery's power with the meter's reading (domain/arbitrage/dispatch.ts).
import assert from 'node:assert/strict';
import { dispatchKw, type DispatchLimits } from '../../../domain/arbitrage/dispatch';

const limits: DispatchLimits = { socPct: 50, socMinPct: 5, socMaxPct: 95, maxChargeKw: 5, maxDischargeKw: 5 };
const near = (a: number, b: number): void => assert.ok(Math.abs(a - b) < 1e-9, `${a} != ${b}`);

describe('dispatch (domain/arbitrage/dispatch)', () => {
  it('holds the grid at zero where the plan does, whatever the forecast said', () => {
    near(dispatchKw({ powerKw: 1, gridKw: 0 }, 2, limits), 2);
    near(dispatchKw({ powerKw: 1, gridKw: 0 }, -1.5, limits), -1.5);
  });

  it('holds a planned import level against the measured load', () => {
    near(dispatchKw({ powerKw: 2, gridKw: 1 }, 4, limits), 3);
    near(dispatchKw({ powerKw: 2, gridKw: 1 }, 0.5, limits), 0);
  });

  it('charges from the measured surplus only where the plan charges from a surplus', () => {
    near(dispatchKw({ powerKw: -3, gridKw: -1 }, -2, limits), -2);
    near(dispatchKw({ powerKw: -3, gridKw: -1 }, -6, limits), -3);
  });

  it('keeps a planned charge from the grid at a cheap hour', () => {
    near(dispatchKw({ powerKw: -2, gridKw: 2.5 }, 1, limits), -2);
  });

  it('stores an unforeseen surplus where the plan expected to import and hold the battery', () => {
    near(dispatchKw({ powerKw: 0, gridKw: 0.8 }, -1, limits), -1);
    near(dispatchKw({ powerKw: 0, gridKw: 0.8 }, 0.5, limits), 0);
  });

  it('discharges to hold the month\'s import target under a demand charge', () => {
    near(dispatchKw({ powerKw: 0, gridKw: 0.5 }, 3, { ...limits, importCapKw: 2 }), 1);
  });

  it('below the demand-charge reserve holds the import at the target: charges with what is left under it, discharges what lies above', () => {
    const low = { ...limits, socPct: 30, importCapKw: 2, reserveSocPct: 50 };
    near(dispatchKw({ powerKw: 1, gridKw: 0 }, 0.5, low), -1.5);
    near(dispatchKw({ powerKw: 1, gridKw: 0 }, 3, low), 1);
    // Above the reserve the plan's self-consumption runs as before.
    near(dispatchKw({ powerKw: 1, gridKw: 0 }, 0.5, { ...low, socPct: 60 }), 0.5);
    // A plan's higher planned import does not lift the target: the battery still holds the import at it.
    near(dispatchKw({ powerKw: 0, gridKw: 2.5 }, 1, low), -1);
    near(dispatchKw({ powerKw: -3, gridKw: 2.5 }, 0.5, { ...low, socPct: 60 }), -1.5);
  });

  it('stays inside the power limits and the SoC window, and without a measurement keeps the plan', () => {
    near(dispatchKw({ powerKw: 0, gridKw: 0 }, 9, limits), 5);
    near(dispatchKw({ powerKw: 0, gridKw: 0 }, 2, { ...limits, socPct: 5 }), 0);
    near(dispatchKw({ powerKw: 0, gridKw: 0 }, -2, { ...limits, socPct: 95 }), 0);
    near(dispatchKw({ powerKw: 1.5, gridKw: 0 }, undefined, limits), 1.5);
  });
});
