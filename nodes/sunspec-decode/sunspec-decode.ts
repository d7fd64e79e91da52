// Decodes the messages of node-red-contrib-modbus's Read and Getter nodes (contrib-modbus.ts)
// as a SunSpec block and sends Telemetry: contrib-modbus as an alternative transport.
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { TelemetrySchema, describeIssues, type Telemetry } from '../../domain/contracts';
import { topics } from '../../domain/topics';
import { decodeSunSpecBlock, registersOfMessage } from '../../domain/sunspec/contrib-modbus';
import { deviceKindOf, deviceTelemetry } from '../../domain/sunspec/telemetry';
import { parseConfig } from '../kit/config';
import { errorStatus, errorText, okStatus, telemetrySummary } from '../kit/status';
import { SunSpecDecodeConfigSchema, type SunSpecDecodeConfig } from './config';

export = function (RED: NodeAPI): void {
  function SunSpecDecode(this: Node, def: NodeDef & Record<string, unknown>): void {
    RED.nodes.createNode(this, def);
    let config: SunSpecDecodeConfig;
    try {
      config = parseConfig(SunSpecDecodeConfigSchema, 'sunspec-decode', def);
    } catch (err) {
      this.error(err);
      this.status(errorStatus(err));
      return;
    }
    this.on('input', (msg, send, done) => {
      try {
        const block = registersOfMessage(msg);
        const address = block.address ?? config.address ?? 0;
        const { models, skipped } = decodeSunSpecBlock(block.registers, address);
        const ids = models.map((m) => m.id);
        const kind = config.kind === 'auto' ? deviceKindOf(ids) : config.kind;
        if (!kind) throw new Error(`models [${ids.join(', ')}] at ${address} are not a battery (802), PCS (701) or meter (201-204)`);
        const ts = Date.now();
        let part;
        try {
          part = deviceTelemetry(kind, models, ts);
        } catch (err) {
          // Name what the block lacked: usually a read too short for the whole model chain.
          throw new Error(`${errorText(err)}${skipped.length ? ` (${skipped.join('; ')})` : ''}`);
        }
        const t: Telemetry = { siteId: config.siteId, ts };
        if (config.deviceId) t.deviceId = config.deviceId;
        if (part.kind === 'battery') t.battery = part.battery;
        else if (part.kind === 'pcs') t.pcs = part.pcs;
        else t.meter = part.meter;
        const parsed = TelemetrySchema.safeParse(t);
        if (!parsed.success) throw new Error(`decoded telemetry is invalid: ${describeIssues(parsed.error)}`);
        this.status(okStatus(telemetrySummary(parsed.data)));
        const out = msg as NodeMessage;
        out.payload = parsed.data;
        out.topic = topics.telemetry(config.siteId);
        send(out);
        done();
      } catch (err) {
        this.status(errorStatus(err));
        done(err instanceof Error ? err : new Error(errorText(err)));
      }
    });
  }
  RED.nodes.registerType('sunspec-decode', SunSpecDecode as unknown as (this: Node, def: NodeDef) => void);
};
