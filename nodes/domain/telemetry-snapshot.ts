// The latest of each part of a site's telemetry: device nodes send their own part, consumers need
// the whole site. A part only replaces an older one, so a late message never rolls time back.
import type { Telemetry } from './contracts';

export interface SiteSnapshot {
  siteId: string;
  battery?: Telemetry['battery'];
  pcs?: Telemetry['pcs'];
  meter?: Telemetry['meter'];
}

export function mergeTelemetry(snapshot: SiteSnapshot, t: Telemetry): SiteSnapshot {
  const next: SiteSnapshot = { ...snapshot };
  if (t.battery && (!snapshot.battery || t.battery.ts >= snapshot.battery.ts)) next.battery = t.battery;
  if (t.pcs && (!snapshot.pcs || t.pcs.ts >= snapshot.pcs.ts)) next.pcs = t.pcs;
  if (t.meter && (!snapshot.meter || t.meter.ts >= snapshot.meter.ts)) next.meter = t.meter;
  return next;
}
