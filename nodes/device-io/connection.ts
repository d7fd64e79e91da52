// How device nodes reach their modbus-connection config node: it owns one ModbusTransport per
// host:port, and they queue their requests on it and follow its health.
import type { Node, NodeAPI } from 'node-red';
import type { ModbusTransport } from '../modbus-connection/transport';

export interface ModbusConnectionNode extends Node {
  /** Null when the connection's own config did not parse (its error says why). */
  transport: ModbusTransport | null;
  configError: string | null;
}

/** The transport of config node `id`, or an Error naming what is missing. */
export function transportOf(RED: NodeAPI, id: unknown): ModbusTransport | Error {
  if (typeof id !== 'string' || id === '') return new Error('no modbus-connection selected: open the node and pick one');
  const node = RED.nodes.getNode(id) as Partial<ModbusConnectionNode> | null;
  if (!node) return new Error(`modbus-connection ${id} not found (not deployed?)`);
  if (!node.transport) return new Error(`modbus-connection ${node.name || id} is not usable: ${node.configError ?? 'no transport'}`);
  return node.transport;
}
