// A pseudo-terminal pair from socat (Debian's socat) for the Modbus RTU tests: two linked serial
// paths, one for the simulator's RTU server (or a fault-injecting one), one for the transport.
// Bytes written on one end come out of the other as on a null-modem cable; the baud rate is
// accepted but not enforced, so tests see framing, never the line's speed.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ServiceProcess, isExecutable, makeTempDir, waitUntil } from './service';

export const SOCAT = '/usr/bin/socat';

export function socatAvailable(): boolean {
  return isExecutable(SOCAT);
}

export interface PtyPair {
  /** The end the server (device) opens. */
  device: string;
  /** The end the transport (controller) opens. */
  controller: string;
  stop(): Promise<void>;
}

export async function startPtyPair(): Promise<PtyPair> {
  const tmp = makeTempDir('pty');
  const device = join(tmp.dir, 'device');
  const controller = join(tmp.dir, 'controller');
  const proc = new ServiceProcess('socat', SOCAT, ['-d', '-d', `pty,raw,echo=0,link=${device}`, `pty,raw,echo=0,link=${controller}`], tmp.dir);
  try {
    await waitUntil('socat pty pair', async () => existsSync(device) && existsSync(controller) && proc.log.includes('starting data transfer loop'), {
      timeoutMs: 10_000, failed: () => proc.failure(), describe: () => proc.log,
    });
  } catch (err) {
    await proc.stop();
    tmp.remove();
    throw err;
  }
  return {
    device,
    controller,
    async stop() {
      await proc.stop();
      tmp.remove();
    },
  };
}
