// Shared by the edge flow tests and the loop benchmark's readers: flows/edge.json's control loop,
// loaded into node-red-node-test-helper against a simulator on ephemeral ports.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestFlowNode } from 'node-red-node-test-helper';
import { packageRoot } from '../../io/package-root';
import arbiter from '../../nodes/arbiter/arbiter';
import modbusConnection from '../../nodes/modbus-connection/modbus-connection';
import operatorCommand from '../../nodes/operator-command/operator-command';
import pcsSetpoint from '../../nodes/pcs-setpoint/pcs-setpoint';
import safetyLimits from '../../nodes/safety-limits/safety-limits';
import sunspecDevice from '../../nodes/sunspec-device/sunspec-device';

export const LOOP_NODES = [modbusConnection, sunspecDevice, safetyLimits, arbiter, pcsSetpoint, operatorCommand];
const OURS = new Set(['modbus-connection', 'sunspec-device', 'safety-limits', 'arbiter', 'pcs-setpoint', 'operator-command']);

export interface LoopOptions {
  modbusPort: number;
  cycleMs: number;
  /** Helper nodes to add, each wired from the node ids given (output 0). */
  taps?: Record<string, string[]>;
  /** More of edge.json's node types to keep beside the loop (their nodes must be loaded too). */
  keep?: readonly string[];
  /** Put the battery (unit 1) on Modbus RTU at this serial path (115200 8N1) instead of the TCP connection. */
  batteryRtuPath?: string;
}

/** The RTU connection of a battery on an RS-485 bus at `serialPath`, and the id that selects it. */
export function rtuConnection(id: string, serialPath: string, z?: string): TestFlowNode {
  return {
    id, type: 'modbus-connection', ...(z ? { z } : {}), name: 'RS-485 bus', transport: 'rtu', serialPath,
    baudRate: 115200, parity: 'none', dataBits: 8, stopBits: 1, interFrameMs: '', timeout: 1000, queueLimit: 100,
  } as TestFlowNode;
}

/** flows/edge.json with only our nodes, addressed to the simulator, at the given cycle, with taps. */
export function edgeLoopFlow(o: LoopOptions): TestFlowNode[] {
  const all = JSON.parse(readFileSync(join(packageRoot, 'flows', 'edge.json'), 'utf8')) as TestFlowNode[];
  // The tab stays: without it the test helper starts every node twice.
  const keep = new Set([...OURS, ...(o.keep ?? [])]);
  const kept = all.filter((n) => keep.has(n.type) || n.type === 'tab');
  const ids = new Set(kept.map((n) => n.id));
  const flow: TestFlowNode[] = kept.map((n) => {
    if (n.type === 'tab') return n;
    const wires = (n.wires ?? []).map((out) => out.filter((id) => ids.has(id)));
    switch (n.type) {
      case 'modbus-connection': return { ...n, port: o.modbusPort };
      case 'sunspec-device': return { ...n, interval: o.cycleMs, wires, ...(o.batteryRtuPath && n.id === 'edge-battery' ? { connection: 'edge-rs485' } : {}) };
      case 'safety-limits': return { ...n, cycleMs: o.cycleMs, wires };
      case 'pcs-setpoint': return { ...n, heartbeat: o.cycleMs, wires };
      default: return { ...n, wires };
    }
  });
  if (o.batteryRtuPath) flow.push(rtuConnection('edge-rs485', o.batteryRtuPath));
  for (const [tap, from] of Object.entries(o.taps ?? {})) {
    flow.push({ id: tap, type: 'helper', z: 'edge-tab' });
    for (const id of from) {
      const n = flow.find((f) => f.id === id);
      if (!n) throw new Error(`edge.json has no node ${id}`);
      n.wires = n.wires?.length ? [[...(n.wires[0] ?? []), tap], ...n.wires.slice(1)] : [[tap]];
    }
  }
  return flow;
}
