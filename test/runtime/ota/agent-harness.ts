// Runs real edge agents (`lifo4 agent` child processes) against a real broker and bundle server, and
// plays the cloud's side on MQTT: publishes notices, collects the agents' status reports.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { topics } from '../../../domain/topics';
import { FINAL_PHASES, OTA_STATUS_FILTER, OtaStatusSchema, type OtaNotice, type OtaStatus } from '../../../runtime/ota/messages';
import { Lifo4Process, eventually } from '../../integration/lifo4-process';
import { killLeftRuntime } from './ota-fixtures';

export class CloudSide {
  readonly statuses: OtaStatus[] = [];
  private constructor(readonly client: MqttClient) {}

  static async connect(url: string): Promise<CloudSide> {
    const client = await connectAsync(url, { clientId: `ota-test-cloud-${process.pid}-${Math.random().toString(36).slice(2, 8)}`, reconnectPeriod: 200 });
    const side = new CloudSide(client);
    client.on('message', (_topic, payload) => {
      const r = OtaStatusSchema.safeParse(JSON.parse(payload.toString('utf8')));
      if (r.success) side.statuses.push(r.data);
    });
    await client.subscribeAsync(OTA_STATUS_FILTER, { qos: 1 });
    return side;
  }

  async notify(n: OtaNotice): Promise<void> {
    await this.client.publishAsync(topics.ota(n.siteId), JSON.stringify(n), { qos: 1 });
  }

  /** The first final report for a deployment (committed, rolled-back, refused, failed). */
  outcome(deploymentId: string, timeoutMs = 60_000): Promise<OtaStatus> {
    return eventually(async () => this.statuses.find((s) => s.deploymentId === deploymentId && FINAL_PHASES.has(s.phase)), timeoutMs, `final report of ${deploymentId}`);
  }

  phases(deploymentId: string): string[] {
    return this.statuses.filter((s) => s.deploymentId === deploymentId).map((s) => s.phase);
  }

  /** Waits for a 'running' report of the site newer than `since` (sent on every agent connect). */
  connected(siteId: string, since: number, timeoutMs = 30_000): Promise<OtaStatus> {
    return eventually(async () => this.statuses.find((s) => s.siteId === siteId && s.phase === 'running' && s.ts >= since), timeoutMs, `agent of ${siteId} connecting`);
  }

  async close(): Promise<void> {
    await this.client.endAsync();
  }
}

export interface AgentProcessOptions {
  dir: string;
  siteId: string;
  fleetPem: string;
  mqttUrl: string;
  healthWindowS?: number;
  killAt?: string;
}

export function startAgentProcess(o: AgentProcessOptions): Lifo4Process {
  const keyFile = join(o.dir, '..', `${o.siteId}-fleet.pub`);
  writeFileSync(keyFile, o.fleetPem);
  return new Lifo4Process(
    ['agent', '--dir', o.dir, '--site-id', o.siteId, '--fleet-key', keyFile, '--mqtt-url', o.mqttUrl, '--health-window-s', String(o.healthWindowS ?? 1.5)],
    o.killAt !== undefined ? { LIFO4_OTA_KILL_AT: o.killAt } : { LIFO4_OTA_KILL_AT: '' },
  );
}

/** Stops an agent (SIGTERM: it stops its runtime) and kills anything it left. */
export async function stopAgentProcess(p: Lifo4Process | null, dir: string): Promise<void> {
  if (p) await p.stop('SIGTERM', 15_000);
  killLeftRuntime(dir);
}
