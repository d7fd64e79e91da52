// site-telemetry: the device nodes' parts in, the whole site's telemetry out.
import assert from 'node:assert/strict';
import siteTelemetryNode from '../../nodes/site-telemetry/site-telemetry';
import type { Telemetry } from '../../domain/contracts';
import { helper, nextError, nextMessage } from './harness';
import { batteryTelemetry, meterTelemetry } from './mqtt/edge-messages';

const flow = [
  { id: 'join', type: 'site-telemetry', siteId: 's1', wires: [['out']] },
  { id: 'out', type: 'helper' },
];

describe('site-telemetry node', () => {
  afterEach(() => helper.unload());

  it('sends the whole site on every part, each part the latest received', async () => {
    await helper.load([siteTelemetryNode], flow);
    const join = helper.getNode('join');
    const out = helper.getNode('out');
    const battery = batteryTelemetry('s1', 61);
    const first = nextMessage<{ topic: string; payload: Telemetry }>(out);
    join.receive({ payload: battery });
    assert.equal((await first).topic, 'telemetry');
    const second = nextMessage<{ payload: Telemetry }>(out);
    join.receive({ payload: meterTelemetry('s1', -800, battery.ts + 1) });
    const site = (await second).payload;
    assert.equal(site.battery?.soc, 61);
    assert.equal(site.meter?.power, -800);
    assert.equal(site.ts, battery.ts + 1);
  });

  it("refuses another site's telemetry and what is not telemetry, and sends nothing", async () => {
    await helper.load([siteTelemetryNode], flow);
    const join = helper.getNode('join');
    let sent = 0;
    helper.getNode('out').on('input', () => sent++);
    const otherSite = nextError(join, /telemetry for site s2, this node serves s1/);
    join.receive({ payload: meterTelemetry('s2', 100) });
    await otherSite;
    const notTelemetry = nextError(join, /not telemetry/);
    join.receive({ payload: { hello: 'world' } });
    await notTelemetry;
    assert.equal(sent, 0);
  });
});
