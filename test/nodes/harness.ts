// Shared set-up for the node tests: Node-RED's test helper with our compiled nodes, a Modbus TCP
// server on an ephemeral port, and a way to wait for what a node sends or shows.
import helper from 'node-red-node-test-helper';
import type { TestNode } from 'node-red-node-test-helper';
import modbusConnection from '../../nodes/modbus-connection/modbus-connection';
import pcsSetpoint from '../../nodes/pcs-setpoint/pcs-setpoint';
import profileDevice from '../../nodes/profile-device/profile-device';
import sunspecDecode from '../../nodes/sunspec-decode/sunspec-decode';
import sunspecDevice from '../../nodes/sunspec-device/sunspec-device';

helper.init(require.resolve('node-red'));

export { helper };
export const ourNodes = [modbusConnection, sunspecDevice, pcsSetpoint, profileDevice, sunspecDecode];

export interface Status { fill?: string; shape?: string; text?: string }

/** Resolve with the first message a helper node receives that passes `accept`. */
export function nextMessage<T = Record<string, unknown>>(node: TestNode, accept: (msg: T) => boolean = () => true, ms = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { node.off('input', on); reject(new Error(`no accepted message within ${ms} ms`)); }, ms);
    const on = (m: unknown): void => {
      const msg = m as T;
      let ok = false;
      try { ok = accept(msg); } catch (err) { clearTimeout(timer); node.off('input', on); reject(err as Error); return; }
      if (ok) { clearTimeout(timer); node.off('input', on); resolve(msg); }
    };
    node.on('input', on);
  });
}

/** Resolve with the first status a node shows that passes `accept`. */
export function nextStatus(node: TestNode, accept: (s: Status) => boolean, ms = 10_000): Promise<Status> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { node.off('call:status', on); reject(new Error(`no accepted status within ${ms} ms`)); }, ms);
    const on = (call: { args: unknown[] }): void => {
      const s = call.args[0] as Status;
      if (accept(s)) { clearTimeout(timer); node.off('call:status', on); resolve(s); }
    };
    node.on('call:status', on);
  });
}

/**
 * Every status a node has shown so far, oldest first, also those shown in its constructor. Under
 * the test helper Node.prototype.status is one sinon spy for all nodes: its calls are this node's
 * when they were made on it.
 */
export function statusesShown(node: TestNode): Status[] {
  const calls = (node.status as unknown as { getCalls(): { thisValue: unknown; args: Status[] }[] }).getCalls();
  return calls.filter((c) => c.thisValue === node).map((c) => c.args[0] ?? {});
}

/** Resolve with the first node.error a node reports whose message matches. */
export function nextError(node: TestNode, match: RegExp, ms = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { node.off('call:error', on); reject(new Error(`no error matching ${match} within ${ms} ms`)); }, ms);
    const on = (call: { args: unknown[] }): void => {
      const e = call.args[0];
      const text = e instanceof Error ? e.message : String(e);
      if (match.test(text)) { clearTimeout(timer); node.off('call:error', on); resolve(text); }
    };
    node.on('call:error', on);
  });
}

export const connectionNode = (port: number, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  id: 'conn', type: 'modbus-connection', name: 'sim', host: '127.0.0.1', port, timeout: 500, queueLimit: 100, ...extra,
});
