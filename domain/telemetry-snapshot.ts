// The one join of a site's telemetry: device nodes send their own part (battery, PCS or meter),
// while the safety envelope, the strategies, the record sent to the cloud and the editor's sidebar
// need the whole site. A part only replaces an older one, so a late message never rolls time back,
// and a part of another site is refused, never merged.
import type { Telemetry } from './contracts';

export interface SiteSnapshot {
  siteId: string;
  battery?: Telemetry['battery'];
  pcs?: Telemetry['pcs'];
  meter?: Telemetry['meter'];
}

/** The latest of each part of one site's telemetry. */
export class SiteTelemetry {
  #snapshot: SiteSnapshot;

  constructor(readonly siteId: string) {
    this.#snapshot = { siteId };
  }

  get snapshot(): SiteSnapshot {
    return this.#snapshot;
  }

  /** Merges a device's part; false, and nothing merged, when it belongs to another site. */
  add(t: Telemetry): boolean {
    if (t.siteId !== this.siteId) return false;
    const was = this.#snapshot;
    const next: SiteSnapshot = { ...was };
    if (t.battery && (!was.battery || t.battery.ts >= was.battery.ts)) next.battery = t.battery;
    if (t.pcs && (!was.pcs || t.pcs.ts >= was.pcs.ts)) next.pcs = t.pcs;
    if (t.meter && (!was.meter || t.meter.ts >= was.meter.ts)) next.meter = t.meter;
    this.#snapshot = next;
    return true;
  }

  /** The whole site as one Telemetry, stamped with its newest part's time; null before any part. */
  joined(): Telemetry | null {
    const { battery, pcs, meter } = this.#snapshot;
    if (!battery && !pcs && !meter) return null;
    const ts = Math.max(battery?.ts ?? 0, pcs?.ts ?? 0, meter?.ts ?? 0);
    return { siteId: this.siteId, ts, ...(battery && { battery }), ...(pcs && { pcs }), ...(meter && { meter }) };
  }
}
