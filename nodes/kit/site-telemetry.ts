// How a node takes a device node's message into its site's telemetry join (domain/
// telemetry-snapshot.ts): parse the payload as Telemetry, refuse another site's, merge the part.
// The nodes that need the whole site (safety-limits, the strategies, telemetry-out, site-status,
// site-telemetry) all read their input this one way.
import { describeIssues, TelemetrySchema, type Telemetry } from '../../domain/contracts';
import type { SiteTelemetry } from '../../domain/telemetry-snapshot';

export type TakenTelemetry =
  | { kind: 'merged'; part: Telemetry }
  | { kind: 'not-telemetry'; issues: string }
  | { kind: 'other-site'; siteId: string };

export function takeTelemetry(site: SiteTelemetry, payload: unknown): TakenTelemetry {
  const t = TelemetrySchema.safeParse(payload);
  if (!t.success) return { kind: 'not-telemetry', issues: describeIssues(t.error) };
  if (!site.add(t.data)) return { kind: 'other-site', siteId: t.data.siteId };
  return { kind: 'merged', part: t.data };
}

/** The error a node reports for another site's telemetry: `<node>: telemetry for site A, this node <verb> B`. */
export function otherSiteError(node: string, site: SiteTelemetry, other: string, verb = 'serves'): Error {
  return new Error(`${node}: telemetry for site ${other}, this node ${verb} ${site.siteId}`);
}
