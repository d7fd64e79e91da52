// A non-SunSpec device described by a JSON profile: each register block impersonates a SunSpec
// model (profile.ts), so it decodes and maps to Telemetry exactly like a SunSpec device.
import type { Node, NodeAPI, NodeDef } from 'node-red';
import type { Telemetry } from '../../domain/contracts';
import { parseProfile, type Profile } from '../../domain/sunspec/profile';
import { parseConfig } from '../kit/config';
import { transportOf } from '../kit/connection';
import { DevicePoller } from '../kit/poller';
import { hostMetrics } from '../../io/host-resources';
import { profileTelemetry, readProfileBlocks } from '../../domain/sunspec/profile-reader';
import { unitReaders } from '../../io/modbus/unit-readers';
import { errorStatus } from '../kit/status';
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
    const readers = (unit: number | undefined): ReturnType<typeof unitReaders> => unitReaders(transport, unit ?? config.unitId);

    const poll = async (): Promise<Telemetry> => {
      const blocks = await readProfileBlocks(readers, profile);
      return profileTelemetry(profile, blocks.map((b) => b.model), config.siteId, config.deviceId, Date.now());
    };

    const poller = new DevicePoller({ node: this, transport, interval: config.interval, siteId: config.siteId, poll, invalidate: () => undefined, metrics: hostMetrics(RED.settings) });
    this.on('input', (msg, send, done) => poller.input(msg, send, done));
    this.on('close', () => poller.stop());
  }
  RED.nodes.registerType('profile-device', ProfileDevice as unknown as (this: Node, def: NodeDef) => void);
};
