// A SunSpec device (battery, PCS or meter) on a modbus-connection: finds the 'SunS' marker and
// the model chain, polls the models its kind needs every `interval` ms (the fast ones every poll,
// the slow ones one per poll: domain/sunspec/reader.ts), decodes them with their scale factors
// and sends Telemetry (docs/ARCHITECTURE.md, "Devices").
import type { Node, NodeAPI, NodeDef } from 'node-red';
import type { Telemetry } from '../../domain/contracts';
import { deviceTelemetry } from '../../domain/sunspec/telemetry';
import { parseConfig } from '../kit/config';
import { transportOf } from '../kit/connection';
import { DevicePoller } from '../kit/poller';
import { hostMetrics } from '../../io/host-resources';
import { errorStatus } from '../kit/status';
import { SunSpecDeviceConfigSchema, type SunSpecDeviceConfig } from './config';
import { discoverDevice, RoundRobinReader } from '../../domain/sunspec/reader';
import { unitReaders } from '../../io/modbus/unit-readers';

export = function (RED: NodeAPI): void {
  function SunSpecDevice(this: Node, def: NodeDef & Record<string, unknown>): void {
    RED.nodes.createNode(this, def);
    let config: SunSpecDeviceConfig;
    try {
      config = parseConfig(SunSpecDeviceConfigSchema, 'sunspec-device', def);
    } catch (err) {
      this.error(err);
      this.status(errorStatus(err));
      return;
    }
    const transport = transportOf(RED, config.connection);
    if (transport instanceof Error) {
      this.error(transport);
      this.status(errorStatus(transport));
      return;
    }
    const read = unitReaders(transport, config.unitId).holding;
    let device: RoundRobinReader | null = null;

    const poll = async (): Promise<Telemetry> => {
      if (!device) {
        const found = await discoverDevice(read, config.baseAddress === 'auto' ? undefined : config.baseAddress, config.kind);
        this.log(`unit ${config.unitId}: ${found.kind}, SunSpec models [${found.chain.map((m) => m.id).join(', ')}] at ${found.base}`);
        device = new RoundRobinReader(found);
      }
      const models = await device.poll(read);
      const ts = Date.now();
      const part = deviceTelemetry(device.device.kind, models, ts);
      const t: Telemetry = { siteId: config.siteId, ts };
      if (config.deviceId) t.deviceId = config.deviceId;
      if (part.kind === 'battery') t.battery = part.battery;
      else if (part.kind === 'pcs') t.pcs = part.pcs;
      else t.meter = part.meter;
      return t;
    };

    const poller = new DevicePoller({
      node: this,
      transport,
      interval: config.interval,
      siteId: config.siteId,
      poll,
      invalidate: () => { device = null; },
      metrics: hostMetrics(RED.settings),
      // The battery poll drives the control cycle (safety-limits decides on battery telemetry,
      // the arbiter and pcs-setpoint follow): PCS and meter polls, which only refresh the site
      // snapshot, run half an interval later so their reads do not queue ahead of the battery's
      // reads and the setpoint write on a shared connection.
      phase: () => ((device?.device.kind ?? config.kind) === 'battery' ? 0 : 0.5),
    });
    this.on('input', (msg, send, done) => poller.input(msg, send, done));
    this.on('close', () => poller.stop());
  }
  RED.nodes.registerType('sunspec-device', SunSpecDevice as unknown as (this: Node, def: NodeDef) => void);
};
