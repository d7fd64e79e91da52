// The control-loop part of flows/edge.json for the loop benchmark: our device, safety, arbiter
// and PCS-setpoint nodes and their modbus-connection, addressed to the simulator, at one cycle.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestFlowNode } from 'node-red-node-test-helper';
import { packageRoot } from '../io/package-root';

/** The node types the loop needs; http, debug, inject, function, change, link, comment are dropped. */
const LOOP_TYPES = new Set(['modbus-connection', 'sunspec-device', 'safety-limits', 'arbiter', 'pcs-setpoint']);

export interface LoopFlowOptions {
  modbusPort: number;
  cycleMs: number;
  /** Helper nodes to add, each wired from output 0 of the node ids given. */
  taps: Record<string, string[]>;
  /** Every unit on one Modbus RTU bus at this serial path (8N1) instead of Modbus TCP. */
  rtu?: { path: string; baudRate: number };
}

export function loopFlow(o: LoopFlowOptions): TestFlowNode[] {
  const all = JSON.parse(readFileSync(join(packageRoot, 'flows', 'edge.json'), 'utf8')) as TestFlowNode[];
  const kept = all.filter((n) => LOOP_TYPES.has(n.type));
  const ids = new Set(kept.map((n) => n.id));
  const flow = kept.map((n): TestFlowNode => {
    const wires = (n.wires ?? []).map((out) => out.filter((id) => ids.has(id)));
    switch (n.type) {
      case 'modbus-connection': return o.rtu
        ? { ...n, transport: 'rtu', serialPath: o.rtu.path, baudRate: o.rtu.baudRate, parity: 'none', dataBits: 8, stopBits: 1, interFrameMs: '' }
        : { ...n, host: '127.0.0.1', port: o.modbusPort };
      case 'sunspec-device': return { ...n, interval: o.cycleMs, wires };
      // The node floors: safety cycleMs >= 10 ms, pcs-setpoint heartbeat >= 100 ms. A command
      // every cycle restarts the heartbeat, so a heartbeat longer than the cycle never fires.
      case 'safety-limits': return { ...n, cycleMs: Math.max(10, o.cycleMs), wires };
      case 'pcs-setpoint': return { ...n, heartbeat: Math.max(100, o.cycleMs), wires };
      default: return { ...n, wires };
    }
  });
  for (const [tap, from] of Object.entries(o.taps)) {
    flow.push({ id: tap, type: 'helper', z: 'edge-tab' });
    for (const id of from) {
      const n = flow.find((f) => f.id === id);
      if (!n) throw new Error(`flows/edge.json has no node ${id}`);
      n.wires = n.wires?.length ? [[...(n.wires[0] ?? []), tap], ...n.wires.slice(1)] : [[tap]];
    }
  }
  return flow;
}
