// The strategy settings document in force at a site, on disk: <userDir>/lifo4/site-settings/
// <siteId>.json, beside the e-stop latch (io/safety/latch-file.ts), so a redeploy or a restart finds
// the document the cloud last sent. Written durably (io/durable-file). A file that cannot be read or
// parsed is reported as such; the node then falls back to the strategy nodes' own configuration.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { SiteSettingsSchema, type SiteSettings } from '../domain/site-settings/settings';
import { readJsonFile, siteFilePath, writeFileDurably } from './durable-file';

const SettingsFileSchema = z.object({
  v: z.literal(1),
  siteId: z.string(),
  settings: SiteSettingsSchema,
  appliedBy: z.string().nullable(),
  appliedAt: z.number(),
  commandId: z.string().nullable(),
});
export type SettingsRecord = z.infer<typeof SettingsFileSchema>;

export type SettingsFileRead = { kind: 'absent' } | { kind: 'found'; record: SettingsRecord } | { kind: 'unreadable'; reason: string };

export function settingsFilePath(userDir: string | undefined, siteId: string): string {
  return siteFilePath(userDir, 'site-settings', siteId, 'site settings');
}

export function readSettingsFile(path: string, siteId: string): SettingsFileRead {
  const r = readJsonFile(path, SettingsFileSchema, 'a settings record');
  if (r.kind !== 'found') return r;
  if (r.data.siteId !== siteId) return { kind: 'unreadable', reason: `${path}: holds the settings of site ${r.data.siteId}` };
  return { kind: 'found', record: r.data };
}

export function writeSettingsFile(path: string, siteId: string, settings: SiteSettings, appliedBy: string | null, commandId: string | null, now = Date.now()): SettingsRecord {
  const record: SettingsRecord = { v: 1, siteId, settings, appliedBy, appliedAt: now, commandId };
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileDurably(path, `${JSON.stringify(record)}\n`);
  return record;
}
