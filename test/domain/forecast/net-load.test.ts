// The site's net load from device parts that arrive apart: each meter reading with the PCS's latest power.
import assert from 'node:assert/strict';
import { NetLoad } from '../../../domain/forecast/net-load';

const meter = (power: number) => ({ meter: { ts: 0, power, frequency: null, voltage: null, energyImportWh: null, energyExportWh: null, alarms: [] } });
const pcs = (power: number) => ({
  pcs: {
    ts: 0, power, reactivePower: null, frequency: null, voltage: null, state: 'RUNNING', gridConnected: true, setpointEnabled: true, setpoint: power,
    revertTimeS: null, revertRemainingS: null, ratedPowerW: null, maxChargeW: null, maxDischargeW: null, energyInjectedWh: null, energyAbsorbedWh: null, alarms: [],
  },
});

describe('net load (meter + PCS)', () => {
  it('is the meter alone until the PCS reports, then the meter plus the latest PCS power', () => {
    const n = new NetLoad();
    assert.equal(n.update(meter(500)), 0.5);
    assert.equal(n.update(pcs(3000)), undefined, 'a PCS part alone has no meter reading');
    assert.equal(n.update(meter(-2000)), 1, 'exporting 2 kW while discharging 3 kW: the site uses 1 kW');
    assert.equal(n.update({ ...meter(200), ...pcs(-1000) }), -0.8, 'a record with both parts uses its own PCS power');
    assert.equal(n.update(meter(200)), -0.8);
  });
});
