// node.status texts shared by the device nodes: short enough for the editor's status line.
import type { NodeStatus } from 'node-red';
import type { Telemetry } from '../../domain/contracts';
import type { TransportHealth } from '../../io/modbus/transport';

const MAX_STATUS = 80;

export function shorten(text: string, max = MAX_STATUS): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const kw = (w: number): string => `${(w / 1000).toFixed(2)} kW`;

/** E.g. "SoC 52.3 % · -2.10 kW" for a battery; + = discharge (docs/ARCHITECTURE.md, "Conventions"). */
export function telemetrySummary(t: Telemetry): string {
  if (t.battery) return `SoC ${t.battery.soc.toFixed(1)} % · ${kw(t.battery.power)}`;
  if (t.pcs) return `${kw(t.pcs.power)} · ${t.pcs.state}${t.pcs.setpoint === null ? '' : ` · set ${kw(t.pcs.setpoint)}`}`;
  if (t.meter) return `grid ${kw(t.meter.power)}`;
  return 'ok';
}

export function okStatus(text: string): NodeStatus {
  return { fill: 'green', shape: 'dot', text: shorten(text) };
}

export function errorStatus(err: unknown): NodeStatus {
  return { fill: 'red', shape: 'ring', text: shorten(errorText(err)) };
}

/** What the connection's health means for a device node; null = nothing to show (connected). */
export function healthStatus(h: TransportHealth): NodeStatus | null {
  switch (h.state) {
    case 'connecting':
      return { fill: 'yellow', shape: 'ring', text: `connecting to ${h.endpoint}` };
    case 'backoff':
      return { fill: 'red', shape: 'ring', text: shorten(`disconnected: ${h.lastError ?? 'unknown error'}`) };
    case 'closed':
      return { fill: 'grey', shape: 'ring', text: 'connection closed' };
    default:
      return null;
  }
}
