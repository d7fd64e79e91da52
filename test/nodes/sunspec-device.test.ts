import assert from 'node:assert/strict';
import { TelemetrySchema, type Telemetry } from '../../domain/contracts';
import { ModbusTcpServer } from '../../runtime/simulator/modbus/tcp-server';
import { connectionNode, helper, nextMessage, nextStatus, ourNodes } from './harness';
import { BATTERY_CELLS, BATTERY_TEMPS, batteryImage, ImageBank, meterImage, PcsBank } from './sunspec-images';

describe('sunspec-device node over Modbus TCP', () => {
  let server: ModbusTcpServer;
  let port: number;
  let pcs: PcsBank;

  beforeEach(async () => {
    pcs = new PcsBank();
    server = new ModbusTcpServer({ port: 0, units: new Map([[1, new ImageBank(batteryImage().regs)], [2, pcs], [3, new ImageBank(meterImage().regs)]]) });
    port = await server.listen();
  });
  afterEach(async () => {
    await helper.unload();
    pcs.stop();
    await server.close();
  });

  const flow = (unitId: number, extra: Record<string, unknown> = {}): Record<string, unknown>[] => [
    connectionNode(port),
    { id: 'dev', type: 'sunspec-device', connection: 'conn', unitId, kind: 'auto', siteId: 'site-1', deviceId: '', interval: 200, baseAddress: 'auto', wires: [['out']], ...extra },
    { id: 'out', type: 'helper' },
  ];

  it('discovers a battery by the SunS marker and model chain and sends every battery point as Telemetry', async () => {
    await helper.load(ourNodes, flow(1, { deviceId: 'bms-1' }) as never);
    const msg = await nextMessage<{ payload: Telemetry; topic: string }>(helper.getNode('out'));
    assert.equal(msg.topic, 'lifo4/site-1/telemetry');
    const t = TelemetrySchema.parse(msg.payload);
    assert.equal(t.siteId, 'site-1');
    assert.equal(t.deviceId, 'bms-1');
    assert.deepEqual(t.battery && { ...t.battery, ts: 0 }, {
      ts: 0, soc: 52.3, soh: 98, voltage: 52.8, current: -39.8, power: -2100, capacityWh: 14336, energyAvailableWh: 7497,
      cellVmax: 3.312, cellVmin: 3.298, cellVavg: 3.304, cellVoltages: BATTERY_CELLS, tempMax: 25.8, tempMin: 24.5,
      cellTemps: BATTERY_TEMPS, chargeCurrentMax: 140, dischargeCurrentMax: 140, chargePowerMax: 7000, dischargePowerMax: 7000,
      cycles: 412, state: 'CONNECTED', alarms: [],
    });
  });

  it('shows a short summary of the battery in its status', async () => {
    await helper.load(ourNodes, flow(1) as never);
    const s = await nextStatus(helper.getNode('dev'), (st) => st.fill === 'green');
    assert.equal(s.text, 'SoC 52.3 % · -2.10 kW');
  });

  it('decodes every PCS point (701, 702, 704)', async () => {
    await helper.load(ourNodes, flow(2) as never);
    const msg = await nextMessage<{ payload: Telemetry }>(helper.getNode('out'));
    const t = TelemetrySchema.parse(msg.payload);
    assert.deepEqual(t.pcs && { ...t.pcs, ts: 0 }, {
      ts: 0, power: 0, reactivePower: 0, frequency: 50, voltage: 230, state: 'RUNNING', gridConnected: true,
      setpointEnabled: false, setpoint: null, revertTimeS: 0, revertRemainingS: 0,
      ratedPowerW: 10000, maxChargeW: 8000, maxDischargeW: 10000, energyInjectedWh: 1000, energyAbsorbedWh: 2000, alarms: [],
    });
  });

  it('decodes every meter point (203)', async () => {
    await helper.load(ourNodes, flow(3) as never);
    const msg = await nextMessage<{ payload: Telemetry }>(helper.getNode('out'));
    const t = TelemetrySchema.parse(msg.payload);
    assert.deepEqual(t.meter && { ...t.meter, ts: 0 }, {
      ts: 0, power: 850, frequency: 50.01, voltage: 230.1, energyImportWh: 123456, energyExportWh: 6543, alarms: [],
    });
  });

  it('polls at once when a message arrives, and sends the telemetry on that message', async () => {
    await helper.load(ourNodes, flow(1, { interval: 3_600_000 }) as never);
    const out = helper.getNode('out');
    await nextMessage(out); // the poll after connecting
    const next = nextMessage<{ payload: Telemetry; _msgid: string; tag?: string }>(out);
    helper.getNode('dev').receive({ payload: 'poll', tag: 'mine' });
    const msg = await next;
    assert.equal(msg.tag, 'mine');
    assert.ok(msg.payload.battery);
  });

  it('uses a pinned base address, and reports a clear error when there is no marker there', async () => {
    await helper.load(ourNodes, flow(1, { baseAddress: '40002' }) as never);
    const s = await nextStatus(helper.getNode('dev'), (st) => st.fill === 'red');
    assert.match(s.text ?? '', /no SunSpec marker at 40002/);
  });
});
