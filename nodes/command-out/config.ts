// The command-out node's configuration, its input, and the per-site command keys.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { CommandBodySchema, RoleSchema, SignedCommandSchema, SiteIdSchema } from '../../domain/contracts';
import { parseKey } from '../../io/command-signature';

export const CommandOutConfigSchema = z.object({
  name: z.string().default(''),
  /** The mqtt-link config node's id. */
  link: z.string().default(''),
  /** With no ack by then (or no 'executed' after 'accepted'), a 'timeout' ack is sent, s. */
  ackTimeoutS: z.coerce.number().min(0.1).max(3600).default(10),
  /** A command is void this long after it is issued unless the message says otherwise, s. */
  expiresInS: z.coerce.number().min(1).max(86_400).default(60),
  /**
   * A JSON file {siteId: key} (hex or base64, at least 16 bytes), or lifo4's secrets.json; read
   * again when a command names a site it does not know yet. '' = the keys credential only.
   */
  keysFile: z.string().default(''),
});
export type CommandOutConfig = z.infer<typeof CommandOutConfigSchema>;

/** What the node's input carries in msg.payload: one command for one site. */
export const CommandRequestSchema = z.object({
  siteId: SiteIdSchema,
  body: CommandBodySchema,
  by: z.string().min(1).max(256),
  role: RoleSchema,
  expiresInS: z.number().positive().max(86_400).optional(),
  /** Unique per command; generated when missing. */
  id: SignedCommandSchema.shape.id.optional(),
});
export type CommandRequest = z.infer<typeof CommandRequestSchema>;

const KeyMapSchema = z.record(SiteIdSchema, z.string().min(1));
const SecretsSitesSchema = z.object({ sites: z.record(z.string(), z.object({ commandKey: z.string().min(1) }).loose()) }).loose();

function parseKeyMap(text: string, where: string): Map<string, Buffer> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${where}: not JSON: ${(err as Error).message}`);
  }
  // lifo4's own secrets.json holds each site's key as sites.<siteId>.commandKey.
  const fromSecrets = SecretsSitesSchema.safeParse(json);
  const r = fromSecrets.success
    ? KeyMapSchema.safeParse(Object.fromEntries(Object.entries(fromSecrets.data.sites).map(([site, s]) => [site, s.commandKey])))
    : KeyMapSchema.safeParse(json);
  if (!r.success) throw new Error(`${where}: expected {"<siteId>": "<key hex or base64>"} or lifo4's secrets.json`);
  const keys = new Map<string, Buffer>();
  for (const [siteId, key] of Object.entries(r.data)) {
    try {
      keys.set(siteId, parseKey(key));
    } catch (err) {
      throw new Error(`${where}, site ${siteId}: ${(err as Error).message}`);
    }
  }
  return keys;
}

/** The per-site keys: the keys file, then the `keys` credential (which wins for a site in both). */
export function loadCommandKeys(keysFile: string, keysCredential: string | undefined): Map<string, Buffer> {
  const keys = new Map<string, Buffer>();
  if (keysFile) for (const [s, k] of parseKeyMap(readFileSync(keysFile, 'utf8'), `keys file ${keysFile}`)) keys.set(s, k);
  if (keysCredential?.trim()) for (const [s, k] of parseKeyMap(keysCredential, 'keys credential')) keys.set(s, k);
  return keys;
}
