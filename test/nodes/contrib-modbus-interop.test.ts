import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { TelemetrySchema, type Telemetry } from '../../domain/contracts';
import { ModbusTcpServer } from '../../runtime/simulator/modbus/tcp-server';
import { helper, nextMessage, ourNodes } from './harness';
import { BASE, ImageBank, sunspecImage } from './sunspec-images';

// The real node-red-contrib-modbus 5.23.3 nodes (a devDependency; no types, hence require).
const requireJs = createRequire(__filename);
const contrib = ['modbus-client', 'modbus-read', 'modbus-getter'].map((n) => requireJs(`node-red-contrib-modbus/modbus/${n}.js`) as unknown);

/** A meter that fits one 125-register read from the SunS marker on: SunS, 203, end. */
const meter = sunspecImage([[203, { points: { W: -1520, W_SF: 0, Hz: 49.98, Hz_SF: -2, PhV: 231.4, V_SF: -1, TotWhImp: 5000, TotWhExp: 7000, TotWh_SF: 0, A_SF: -1, VA_SF: 0, VAR_SF: 0, PF_SF: -2, TotVAh_SF: 0, TotVArh_SF: 0, Evt: 0 } }]]);

describe('interoperability with node-red-contrib-modbus 5.23.3', () => {
  let server: ModbusTcpServer;
  let port: number;
  beforeEach(async () => {
    server = new ModbusTcpServer({ port: 0, units: new Map([[3, new ImageBank(meter.regs)]]) });
    port = await server.listen();
  });
  afterEach(async () => {
    await helper.unload();
    await server.close();
  });

  const client = (): Record<string, unknown> => ({
    id: 'client', type: 'modbus-client', name: 'sim', clienttype: 'tcp', bufferCommands: true, stateLogEnabled: false,
    queueLogEnabled: false, failureLogEnabled: false, tcpHost: '127.0.0.1', tcpPort: String(port), tcpType: 'DEFAULT',
    unit_id: 3, commandDelay: 1, clientTimeout: 1000, reconnectOnTimeout: true, reconnectTimeout: 2000, parallelUnitIdsAllowed: true,
  });
  const decode = (id: string, wire: string): Record<string, unknown> => ({ id, type: 'sunspec-decode', kind: 'auto', siteId: 'site-7', deviceId: 'meter-3', address: '', wires: [[wire]] });
  const expected = { power: -1520, frequency: 49.98, voltage: 231.4, energyImportWh: 5000, energyExportWh: 7000, alarms: [] };
  const quantity = meter.regs.length;

  it('decodes both outputs of a Modbus-Read polling from the SunS marker into valid Telemetry', async function () {
    this.timeout(20_000);
    await helper.load([...contrib, ...ourNodes] as never, [
      client(),
      { id: 'read', type: 'modbus-read', name: 'meter', topic: '', showStatusActivities: false, logIOActivities: false, showErrors: true,
        unitid: '3', dataType: 'HoldingRegister', adr: String(BASE), quantity: String(quantity), rate: '300', rateUnit: 'ms',
        delayOnStart: false, startDelayTime: '', server: 'client', useIOFile: false, ioFile: '', useIOForPayload: false, emptyMsgOnFail: false,
        wires: [['dec1'], ['dec2']] },
      decode('dec1', 'out1'), decode('dec2', 'out2'),
      { id: 'out1', type: 'helper' }, { id: 'out2', type: 'helper' },
    ] as never);
    const [m1, m2] = await Promise.all([
      nextMessage<{ payload: Telemetry; topic: string }>(helper.getNode('out1')),
      nextMessage<{ payload: Telemetry }>(helper.getNode('out2')),
    ]);
    for (const m of [m1, m2]) {
      const t = TelemetrySchema.parse(m.payload);
      assert.equal(t.siteId, 'site-7');
      assert.equal(t.deviceId, 'meter-3');
      assert.deepEqual({ ...t.meter, ts: 0 }, { ts: 0, ...expected });
    }
    assert.equal(m1.topic, 'lifo4/site-7/telemetry');
  });

  it('decodes a Modbus-Getter reply that starts at a model header', async function () {
    this.timeout(20_000);
    await helper.load([...contrib, ...ourNodes] as never, [
      client(),
      { id: 'get', type: 'modbus-getter', name: '', showStatusActivities: false, showErrors: true, logIOActivities: false,
        unitid: '3', dataType: 'HoldingRegister', adr: String(BASE + 2), quantity: String(quantity - 2), server: 'client',
        useIOFile: false, ioFile: '', useIOForPayload: false, emptyMsgOnFail: false, keepMsgProperties: false, wires: [['dec'], []] },
      decode('dec', 'out'),
      { id: 'out', type: 'helper' },
    ] as never);
    const out = helper.getNode('out');
    // The getter needs its client connected first; ask until an answer comes.
    const got = nextMessage<{ payload: Telemetry }>(out, () => true, 15_000);
    const timer = setInterval(() => helper.getNode('get').receive({ payload: '' }), 300);
    try {
      const t = TelemetrySchema.parse((await got).payload);
      assert.deepEqual({ ...t.meter, ts: 0 }, { ts: 0, ...expected });
    } finally {
      clearInterval(timer);
    }
  });
});
