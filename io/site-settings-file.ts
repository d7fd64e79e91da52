// The strategy settings document in force at a site, on disk: <userDir>/lifo4/site-settings/
// <siteId>.json, beside the e-stop latch (io/safety/latch-file.ts), so a redeploy or a restart finds
// the document the cloud last sent. Written durably (io/durable-file). A file that cannot be read or
// parsed is reported as such; the node then falls back to the strategy nodes' own configuration.
import { mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { SiteSettingsSchema, type SiteSettings } from '../domain/site-settings/settings';
import { writeFileDurably } from './durable-file';

const SITE_ID = /^[A-Za-z0-9_-]{1,64}$/;

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
  if (!SITE_ID.test(siteId)) throw new Error(`site settings: site id ${JSON.stringify(siteId)} is not a file name (letters, digits, _ and -)`);
  return join(userDir ?? join(homedir(), '.node-red'), 'lifo4', 'site-settings', `${siteId}.json`);
}

export function readSettingsFile(path: string, siteId: string): SettingsFileRead {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'absent' };
    return { kind: 'unreadable', reason: `${path}: ${(err as Error).message}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { kind: 'unreadable', reason: `${path}: not JSON (${(err as Error).message})` };
  }
  const parsed = SettingsFileSchema.safeParse(json);
  if (!parsed.success) return { kind: 'unreadable', reason: `${path}: not a settings record` };
  if (parsed.data.siteId !== siteId) return { kind: 'unreadable', reason: `${path}: holds the settings of site ${parsed.data.siteId}` };
  return { kind: 'found', record: parsed.data };
}

export function writeSettingsFile(path: string, siteId: string, settings: SiteSettings, appliedBy: string | null, commandId: string | null, now = Date.now()): SettingsRecord {
  const record: SettingsRecord = { v: 1, siteId, settings, appliedBy, appliedAt: now, commandId };
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileDurably(path, `${JSON.stringify(record)}\n`);
  return record;
}
