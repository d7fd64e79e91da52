// Records that TelemetryRecordSchema has already accepted, so the ingest parses each record once:
// telemetry-in parses every batch, seals the records it passes on, and the store skips the parse
// for exactly those objects. Sealing freezes the record deeply, so a sealed record cannot have
// been changed into an invalid one on its way; any other object (a copy Node-RED made for a second
// wire, a record from another node) is not sealed and is parsed as before.
import type { TelemetryRecord } from '../../domain/contracts';

const sealed = new WeakSet<object>();

function deepFreeze(value: unknown): void {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const v of Object.values(value)) deepFreeze(v);
}

/** Marks a record TelemetryRecordSchema produced as valid, freezing it. */
export function sealValidRecord(record: TelemetryRecord): TelemetryRecord {
  deepFreeze(record);
  sealed.add(record);
  return record;
}

/** True for a record sealed by sealValidRecord (the very object, unchanged since). */
export function isSealedValidRecord(value: unknown): value is TelemetryRecord {
  return typeof value === 'object' && value !== null && sealed.has(value);
}
