// A non-SunSpec device described by a JSON profile: each register block impersonates a SunSpec
// model (profile.ts), so it decodes and maps to Telemetry exactly like a SunSpec device.
import type { Node, NodeAPI, NodeDef } from 'node-red';
import type { Telemetry } from '../domain/contracts';
import { readBlock, type ReadRegisters } from '../domain/sunspec/discovery';
import { blockSize, decodeProfileBlock, parseProfile, type Profile } from '../domain/sunspec/profile';
import { deviceTelemetry } from '../domain/sunspec/telemetry';
import { parseConfig } from '../device-io/config';
import { transportOf } from '../device-io/connection';
import { DevicePoller } from '../device-io/poller';
import { errorStatus } from '../device-io/status';
import { ProfileDeviceConfigSchema, type ProfileDeviceConfig } from './config';

export = function (RED: NodeAPI): void {
  function ProfileDevice(this: Node, def: NodeDef & Record<string, unknown>): void {
    RED.nodes.createNode(this, def);
    let config: ProfileDeviceConfig;
    let profile: Profile;
    try {
      config = parseConfig(ProfileDeviceConfigSchema, 'profile-device', def);
      profile = parseProfile(config.profile);
    } catch (err) {
      // A bad profile is a configuration error: say so and do not poll.
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
    const unit = config.unitId;
    const readers: Record<'holding' | 'input', ReadRegisters> = {
      holding: (address, count) => transport.readHoldingRegisters(unit, address, count),
      input: (address, count) => transport.readInputRegisters(unit, address, count),
    };

    const poll = async (): Promise<Telemetry> => {
      const models = [];
      for (const block of profile.blocks) {
        const regs = await readBlock(readers[block.function], block.address, blockSize(block));
        models.push(decodeProfileBlock(block, regs));
      }
      const ts = Date.now();
      const part = deviceTelemetry(profile.kind, models, ts);
      const t: Telemetry = { siteId: config.siteId, ts };
      if (config.deviceId) t.deviceId = config.deviceId;
      if (part.kind === 'battery') t.battery = part.battery;
      else if (part.kind === 'pcs') t.pcs = part.pcs;
      else t.meter = part.meter;
      return t;
    };

    const poller = new DevicePoller({ node: this, transport, interval: config.interval, siteId: config.siteId, poll, invalidate: () => undefined });
    this.on('input', (msg, send, done) => poller.input(msg, send, done));
    this.on('close', () => poller.stop());
  }
  RED.nodes.registerType('profile-device', ProfileDevice as unknown as (this: Node, def: NodeDef) => void);
};
