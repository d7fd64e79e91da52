// The device's own timeout of a profile's control section, read without the profile schema: the
// flow check runs in the editor's browser as plain compiled modules (editor-plugins/flow-check),
// where zod is not loaded, and needs only these two facts of a PCS profile. The full parse
// (profile.ts) still decides at runtime, where pcs-setpoint refuses a profile that does not parse.

/** How a device stops by itself without writes: after a fixed time, a time written with each command, or never. */
export type DeviceTimeout =
  | { kind: 'fixed'; seconds: number }
  | { kind: 'register'; unit: 's' | 'min'; min: number; max: number }
  | { kind: 'none' };

/** Seconds after the last write at which the device stops by itself; null if it never does. */
export function deviceTimeoutS(c: { timeout: DeviceTimeout }, revertS: number): number | null {
  if (c.timeout.kind === 'fixed') return c.timeout.seconds;
  if (c.timeout.kind === 'none') return null;
  const unit = c.timeout.unit === 'min' ? 60 : 1;
  return Math.min(c.timeout.max, Math.max(c.timeout.min, Math.ceil(revertS / unit))) * unit;
}

const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * The timeout and the heartbeat a profile's JSON text declares, or why they cannot be read: not
 * JSON, no control section, or a timeout of no known kind.
 */
export function controlTiming(text: string): { timeout: DeviceTimeout; heartbeatS: number } | string {
  let profile: unknown;
  try {
    profile = JSON.parse(text);
  } catch (err) {
    return `is not JSON (${(err as Error).message})`;
  }
  const control = (profile as { control?: unknown } | null)?.control as { timeout?: Record<string, unknown>; heartbeatS?: unknown } | undefined;
  if (!control || typeof control !== 'object') return 'has no control section: it cannot command the device';
  const t = control.timeout;
  if (!num(control.heartbeatS) || control.heartbeatS <= 0) return 'has no control.heartbeatS';
  if (t?.kind === 'fixed' && num(t.seconds)) return { timeout: { kind: 'fixed', seconds: t.seconds }, heartbeatS: control.heartbeatS };
  if (t?.kind === 'none') return { timeout: { kind: 'none' }, heartbeatS: control.heartbeatS };
  if (t?.kind === 'register' && (t.unit === 's' || t.unit === 'min') && num(t.min) && num(t.max)) {
    return { timeout: { kind: 'register', unit: t.unit, min: t.min, max: t.max }, heartbeatS: control.heartbeatS };
  }
  return 'has a control.timeout of no known kind (fixed, register or none)';
}
