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
import profileDevice from '../../nodes/profile-device/profile-device';
import { profileFamily } from '../../io/profile-library';
import safetyLimits from '../../nodes/safety-limits/safety-limits';
import sunspecDevice from '../../nodes/sunspec-device/sunspec-device';

export const LOOP_NODES = [modbusConnection, sunspecDevice, profileDevice, safetyLimits, arbiter, pcsSetpoint, operatorCommand];

/**
 * The devices the loop runs on: the simulator's SunSpec units, or the simulator presenting a vendor
 * family of the profile library (lifo4 sim --profile), read and commanded through those profiles.
 * revertWithinMs: how long the PCS may take to reach 0 W by its own timer (Huawei's forced mode
 * runs in whole minutes: at least 60 s).
 */
export interface LoopVariant { name: string; profile?: string; revertWithinMs: number; batteryOnRtu?: boolean }
export const LOOP_VARIANTS: readonly LoopVariant[] = [
  { name: 'SunSpec over Modbus TCP', revertWithinMs: 20_000 },
  // An RS-485 BMS beside a TCP inverter: the battery (unit 1) on Modbus RTU over a socat pty pair.
  { name: 'SunSpec, the battery over Modbus RTU', revertWithinMs: 20_000, batteryOnRtu: true },
  { name: 'the Victron GX profile', profile: 'victron-gx', revertWithinMs: 20_000 },
  { name: 'the Huawei LUNA2000 profile', profile: 'huawei-luna2000', revertWithinMs: 80_000 },
];

/**
 * edge.json with the devices of a library family read through its profiles: each sunspec-device
 * whose kind the family has becomes a profile-device, and the PCS write gets the family's PCS profile
 * (and its unit id). The battery stays on SunSpec where the family has no battery profile.
 */
export function withProfiles<T extends { id: string; type: string }>(flow: readonly T[], family: string | undefined): T[] {
  if (!family) return [...flow];
  const profiles = profileFamily(family);
  const of = (kind: string) => profiles.find((p) => p.profile.kind === kind);
  return flow.map((n) => {
    const node = n as T & Record<string, unknown>;
    if (n.type === 'sunspec-device') {
      const p = of(String(node.kind));
      if (!p) return n;
      const { baseAddress: _sunspecOnly, kind: _kind, ...rest } = node;
      return { ...rest, type: 'profile-device', name: p.profile.name, unitId: p.profile.unitId ?? node.unitId, profile: p.text } as unknown as T;
    }
    if (n.type === 'pcs-setpoint') {
      const p = of('pcs');
      if (!p?.profile.control) return n;
      return { ...node, unitId: p.profile.unitId ?? node.unitId, profile: p.text };
    }
    return n;
  });
}
const OURS = new Set(['modbus-connection', 'sunspec-device', 'profile-device', 'safety-limits', 'arbiter', 'pcs-setpoint', 'operator-command']);

export interface LoopOptions {
  modbusPort: number;
  cycleMs: number;
  /** Helper nodes to add, each wired from the node ids given (output 0). */
  taps?: Record<string, string[]>;
  /** More of edge.json's node types to keep beside the loop (their nodes must be loaded too). */
  keep?: readonly string[];
  /** Put the battery (unit 1) on Modbus RTU at this serial path (115200 8N1) instead of the TCP connection. */
  batteryRtuPath?: string;
  /** A profile family of the library: read and command the devices through its profiles. */
  profile?: string;
  /**
   * Cycles of silence before safety-limits calls the telemetry stale (default the product's 3). A
   * test of something else at a short cycle raises it: on a busy machine one late poll would put
   * the battery in SAFE_MODE, and leaving it holds the automatic levels and drops earlier requests
   * until someone resumes (domain/arbiter/restart.ts).
   */
  staleCycles?: number;
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
  const all = withProfiles(JSON.parse(readFileSync(join(packageRoot, 'flows', 'edge.json'), 'utf8')) as TestFlowNode[], o.profile);
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
      case 'profile-device': return { ...n, interval: o.cycleMs, wires };
      case 'safety-limits': return { ...n, cycleMs: o.cycleMs, ...(o.staleCycles ? { staleCycles: o.staleCycles } : {}), wires };
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
