import { describe, expect, it } from 'vitest';
import { powerFlow, type FlowNode } from '../../../src/views/site/power-flow';

const byId = (nodes: FlowNode[]) => Object.fromEntries(nodes.map((n) => [n.id, n]));

describe('the power-flow picture', () => {
  it('shows every flow as a positive power with its direction: importing and charging', () => {
    // Grid +2 kW import, battery -1.5 kW (charging), so the house (net of PV) takes 500 W.
    const n = byId(powerFlow({ gridPowerW: 2000, pcsPowerW: -1500, netLoadW: 500 }));
    expect(n.grid).toMatchObject({ w: 2000, direction: 'in', note: 'importing' });
    expect(n.battery).toMatchObject({ w: 1500, direction: 'out', note: 'charging' });
    expect(n.house).toMatchObject({ w: 500, direction: 'out', note: 'net of PV' });
    expect(n.pv).toMatchObject({ w: null, note: 'not metered' });
  });

  it('with a PV meter: positive PV into the bus and the whole house consumption out of it', () => {
    const n = byId(powerFlow({ gridPowerW: -800, pcsPowerW: 0, netLoadW: -800, pvPowerW: 3000 }));
    expect(n.pv).toMatchObject({ w: 3000, direction: 'in' });
    expect(n.house).toMatchObject({ w: 2200, direction: 'out' });
    expect(n.grid).toMatchObject({ w: 800, direction: 'out', note: 'exporting' });
    expect(n.battery).toMatchObject({ direction: 'none', note: 'idle' });
  });

  it('without a PV meter, an export beyond the battery shows PV as at least that surplus', () => {
    const n = byId(powerFlow({ gridPowerW: -1000, pcsPowerW: 200, netLoadW: -800 }));
    expect(n.pv).toMatchObject({ w: 800, direction: 'in', atLeast: true });
    expect(n.house?.w).toBeNull();
    expect(n.battery).toMatchObject({ w: 200, direction: 'in', note: 'discharging' });
  });

  it('balances: what flows in equals what flows out when all four are known', () => {
    const nodes = powerFlow({ gridPowerW: 1200, pcsPowerW: 700, netLoadW: 1900, pvPowerW: 1000 });
    const sum = (d: 'in' | 'out') => nodes.filter((x) => x.direction === d).reduce((a, x) => a + (x.w ?? 0), 0);
    expect(sum('in')).toBe(sum('out'));
    expect(nodes.every((x) => x.w === null || x.w >= 0)).toBe(true);
  });

  it('says what is unknown instead of drawing zero', () => {
    const n = byId(powerFlow({}));
    expect(Object.values(n).every((x) => x.w === null && x.direction === 'none')).toBe(true);
  });
});
