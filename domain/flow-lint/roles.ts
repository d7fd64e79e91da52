// The part each node type plays in the control loop (docs/ARCHITECTURE.md, "One measurement"),
// declared once: the flow safety check (lint.ts), the editor's PCS validation, the runtime's
// refusal in pcs-setpoint and `lifo4 lint` all read this table. A type that is not listed plays
// no role: messages pass through it like any other wire.
// Only the zod-free timeout reader: this module also runs in the editor's browser.
import { controlTiming, deviceTimeoutS } from '../sunspec/profile-timeout';

export type NodeRole = 'device' | 'strategy' | 'safety' | 'arbiter' | 'pcs-write';

export interface RoleEntry {
  readonly role: NodeRole;
  /**
   * For a PCS write: why its configuration gives no heartbeat, or null when it has one. The
   * heartbeat keeps the PCS's own revert timer (SunSpec 704 WSetRvrtTms) from firing while the
   * controller lives, so the inverter falls back to 0 W by itself only when the controller dies.
   */
  readonly heartbeatProblem?: (config: Readonly<Record<string, unknown>>) => string | null;
}

function pcsSetpointHeartbeat(config: Readonly<Record<string, unknown>>): string | null {
  const heartbeat = Number(config.heartbeat);
  const revert = Number(config.revertTimeout);
  if (config.heartbeat === undefined || config.heartbeat === '' || !Number.isFinite(heartbeat) || heartbeat <= 0) {
    return 'has no heartbeat (heartbeat must be a positive number of ms)';
  }
  if (config.revertTimeout === undefined || config.revertTimeout === '' || !Number.isFinite(revert) || revert <= 0) {
    return 'has no revert timeout, so the PCS never falls back to 0 W by itself';
  }
  if (heartbeat >= revert * 1000) return `heartbeat ${heartbeat} ms is not shorter than the revert timeout ${revert} s`;
  return typeof config.profile === 'string' && config.profile.trim() ? profileHeartbeat(config.profile, heartbeat, revert) : null;
}

/**
 * A PCS written through a device profile: the device's own timer must exist and outlast the
 * heartbeat, and the heartbeat must keep within the period the profile asks for.
 */
function profileHeartbeat(text: string, heartbeatMs: number, revertS: number): string | null {
  const control = controlTiming(text);
  if (typeof control === 'string') return `has a device profile that ${control}`;
  const timeout = deviceTimeoutS(control, revertS);
  if (timeout === null) return "writes a device whose profile declares no timeout: if the controller dies the device keeps its last setpoint";
  if (heartbeatMs >= timeout * 1000) return `heartbeat ${heartbeatMs} ms is not shorter than the device's own timeout of ${timeout} s`;
  if (heartbeatMs > control.heartbeatS * 1000) return `heartbeat ${heartbeatMs} ms is longer than the ${control.heartbeatS} s the device profile asks for`;
  return null;
}

export const NODE_ROLES: Readonly<Record<string, RoleEntry>> = {
  'sunspec-device': { role: 'device' },
  'profile-device': { role: 'device' },
  'sunspec-decode': { role: 'device' },
  'safety-limits': { role: 'safety' },
  arbiter: { role: 'arbiter' },
  'pcs-setpoint': { role: 'pcs-write', heartbeatProblem: pcsSetpointHeartbeat },
  arbitrage: { role: 'strategy' },
  'peak-shaving': { role: 'strategy' },
  'black-start': { role: 'strategy' },
  'operator-command': { role: 'strategy' },
};
