// Config node: one Modbus connection (TCP to host:port, RTU on a serial port, or RTU over TCP to a
// gateway) that every device node on it shares, so the requests of all of them, whatever their
// unit id, go through one queue with one request in flight (transport.ts).
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { parseConfig } from '../kit/config';
import type { ModbusConnectionNode } from '../kit/connection';
import { ModbusConnectionConfigSchema, type ModbusConnectionConfig } from './config';
import { ModbusTransport } from '../../io/modbus/transport';
import { hostMetrics } from '../../io/host-resources';

export = function (RED: NodeAPI): void {
  function ModbusConnection(this: ModbusConnectionNode, def: NodeDef & Partial<ModbusConnectionConfig>): void {
    RED.nodes.createNode(this, def);
    this.transport = null;
    this.configError = null;
    try {
      const config: ModbusConnectionConfig = parseConfig(ModbusConnectionConfigSchema, 'modbus-connection', def);
      const { baudRate, parity, dataBits, stopBits } = config;
      this.transport = new ModbusTransport({
        kind: config.transport,
        host: config.host,
        port: config.port,
        ...(config.transport === 'rtu' ? { serial: { path: config.serialPath, baudRate, parity, dataBits, stopBits } } : {}),
        ...(config.interFrameMs === null ? {} : { interFrameMs: config.interFrameMs }),
        timeout: config.timeout,
        queueLimit: config.queueLimit,
        metrics: hostMetrics(RED.settings),
      });
      // Health changes go to the log at debug level; device nodes show them in their status.
      this.transport.on('health', (h: { state: string; lastError: string | null }) => this.debug(`${h.state}${h.lastError ? `: ${h.lastError}` : ''}`));
    } catch (err) {
      this.configError = (err as Error).message;
      this.error(err);
    }
    this.on('close', (done: () => void) => {
      const t = this.transport;
      if (!t) return done();
      // Let writes queued during shutdown (a PCS node's last 0 W) go out first.
      t.close().then(done, done);
    });
  }
  RED.nodes.registerType('modbus-connection', ModbusConnection as unknown as (this: Node, def: NodeDef) => void);
};
