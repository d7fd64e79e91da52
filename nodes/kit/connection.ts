// How device nodes reach their modbus-connection config node: it owns one ModbusTransport per
// host:port, and they queue their requests on it and follow its health.
import type { Node, NodeAPI } from 'node-red';
import type { z } from 'zod';
import type { ModbusTransport } from '../../io/modbus/transport';
import { parseConfig } from './config';
import { errorStatus } from './status';

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

/**
 * The start of every node that talks through a modbus-connection: parse its config and find its
 * transport; on failure say why (node.error and a red status) and return null, so the node stays
 * idle rather than half-configured.
 */
export function configAndTransport<T extends z.ZodType>(
  RED: NodeAPI, node: Node, schema: T, type: string, def: unknown,
): { config: z.infer<T> & { connection: unknown }; transport: ModbusTransport } | null {
  try {
    const config = parseConfig(schema, type, def) as z.infer<T> & { connection: unknown };
    const transport = transportOf(RED, config.connection);
    if (transport instanceof Error) throw transport;
    return { config, transport };
  } catch (err) {
    node.error(err);
    node.status(errorStatus(err));
    return null;
  }
}
