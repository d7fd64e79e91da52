// price-feed: a file, an HTTP feed on 127.0.0.1 and the message, each to one price series.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import helper, { type TestFlowNode, type TestNode } from 'node-red-node-test-helper';
import type { PriceSeries } from '../../domain/contracts';
import priceFeed from '../../nodes/price-feed/price-feed';

helper.init(require.resolve('node-red'));

interface Msg { payload?: unknown; topic?: string }
function nextMsg(node: TestNode, ms = 5000): Promise<Msg> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no message')), ms);
    node.once('input', (msg: Msg) => { clearTimeout(timer); resolve(msg); });
  });
}
function nextError(node: TestNode, ms = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no error')), ms);
    node.once('call:error', (call: { firstArg: unknown }) => { clearTimeout(timer); resolve(String(call.firstArg)); });
  });
}
const flow = (over: Record<string, unknown>): TestFlowNode[] => [
  { id: 'feed', type: 'price-feed', emitOnStart: false, stepMinutes: 60, hours: 48, ...over, wires: [['out']] },
  { id: 'out', type: 'helper' },
];

describe('price-feed node', () => {
  afterEach(() => helper.unload());

  it('reads the 2012 day-ahead prices from the data folder, 48 h from a given day', async () => {
    await helper.load(priceFeed, flow({ mode: 'file', path: 'ElectricityPricesSpotMarket_3600s_2012.txt', from: '2012-01-02T00:00:00Z' }));
    const got = nextMsg(helper.getNode('out'));
    helper.getNode('feed').receive({ payload: 'reload' });
    const msg = await got;
    const s = msg.payload as PriceSeries;
    assert.equal(msg.topic, 'prices');
    assert.equal(s.start, Date.UTC(2012, 0, 2));
    assert.equal(s.stepMinutes, 60);
    assert.equal(s.pricesEurPerMWh.length, 48);
  });

  it('fetches JSON over HTTP and converts ct/kWh to EUR/MWh on a 15 min grid', async () => {
    const server = http.createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ prices: [{ start: '2025-03-01T00:00:00Z', price: 4 }, { start: '2025-03-01T01:00:00Z', price: -0.5 }] }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/prices`;
      await helper.load(priceFeed, flow({ mode: 'http', url, unit: 'ct/kWh', stepMinutes: 15 }));
      const got = nextMsg(helper.getNode('out'));
      helper.getNode('feed').receive({ payload: true });
      const s = (await got).payload as PriceSeries;
      assert.deepEqual(s.pricesEurPerMWh, [40, 40, 40, 40, -5, -5, -5, -5]);
      assert.equal(s.start, Date.UTC(2025, 2, 1));
    } finally {
      await helper.unload();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('takes plain numbers from the message, starting at msg.start', async () => {
    await helper.load(priceFeed, flow({ mode: 'msg' }));
    const got = nextMsg(helper.getNode('out'));
    helper.getNode('feed').receive({ payload: [30, 10, 90], start: '2025-03-01T00:00:00Z' });
    assert.deepEqual((await got).payload, { start: Date.UTC(2025, 2, 1), stepMinutes: 60, pricesEurPerMWh: [30, 10, 90], source: 'msg.payload' });
  });

  it('reports bad input on the node instead of emitting', async () => {
    await helper.load(priceFeed, flow({ mode: 'msg' }));
    const err = nextError(helper.getNode('feed'));
    helper.getNode('feed').receive({ payload: { nothing: 'here' } });
    assert.match(await err, /expected a PriceSeries/);
  });
});
