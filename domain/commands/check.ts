// What the edge checks before a remote command may move the battery, in this order: size, JSON,
// schema, site, signature, validity window, replay. The signature comes before the window and the
// replay check so that only authenticated commands can claim an id: a forger must not be able to
// burn the id of a command the cloud is about to send.
import { describeIssues, MAX_MQTT_PAYLOAD_BYTES, SignedCommandSchema, type SignedCommand } from '../contracts';

export const REJECT_CODES = ['oversized', 'malformed', 'schema', 'site', 'signature', 'expired', 'not-yet-valid', 'lifetime', 'replay'] as const;
export type RejectCode = (typeof REJECT_CODES)[number];

/** Longest validity window a command may claim: its id is remembered that long to refuse replays. */
export const MAX_COMMAND_LIFETIME_MS = 24 * 3600 * 1000;
/** How far the cloud's clock may run ahead of the site's before a command counts as from the future. */
export const DEFAULT_CLOCK_SKEW_MS = 30_000;

export interface CommandCheckContext {
  siteId: string;
  /** Whether the command's HMAC matches the site key (the edge passes io/command-signature.ts verifyCommand). */
  verify: (cmd: SignedCommand) => boolean;
  now: number;
  clockSkewMs?: number;
  maxBytes?: number;
  /**
   * Remember `id` until `until` (ms) and say whether it was new: false = seen before (a replay).
   * Called only for commands that passed every other check.
   */
  claim: (id: string, until: number) => boolean;
}

export type CommandCheck =
  | { ok: true; cmd: SignedCommand }
  | { ok: false; code: RejectCode; reason: string; /** The command's id when it could be read, for the ack. */ id: string | null };

function idOf(raw: unknown): string | null {
  if (!raw || typeof raw !== 'object') return null;
  const id = (raw as { id?: unknown }).id;
  return typeof id === 'string' && /^[A-Za-z0-9_-]{1,128}$/.test(id) ? id : null;
}

export function checkCommand(payload: Uint8Array | string, ctx: CommandCheckContext): CommandCheck {
  const size = typeof payload === 'string' ? new TextEncoder().encode(payload).length : payload.length;
  const maxBytes = ctx.maxBytes ?? MAX_MQTT_PAYLOAD_BYTES;
  if (size > maxBytes) return { ok: false, code: 'oversized', reason: `${size} bytes, limit ${maxBytes}`, id: null };
  let raw: unknown;
  try {
    raw = JSON.parse(typeof payload === 'string' ? payload : new TextDecoder().decode(payload));
  } catch (err) {
    return { ok: false, code: 'malformed', reason: `not JSON: ${(err as Error).message}`, id: null };
  }
  const id = idOf(raw);
  const parsed = SignedCommandSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, code: 'schema', reason: describeIssues(parsed.error), id };
  const cmd = parsed.data;
  if (cmd.siteId !== ctx.siteId) return { ok: false, code: 'site', reason: `command for site ${cmd.siteId}, this is ${ctx.siteId}`, id };
  if (!ctx.verify(cmd)) return { ok: false, code: 'signature', reason: 'signature does not match the site key', id };
  const skew = ctx.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS;
  if (cmd.expiresAt <= ctx.now) return { ok: false, code: 'expired', reason: `expired ${ctx.now - cmd.expiresAt} ms ago`, id };
  if (cmd.issuedAt > ctx.now + skew) return { ok: false, code: 'not-yet-valid', reason: `issued ${cmd.issuedAt - ctx.now} ms in the future (allowed skew ${skew} ms)`, id };
  if (cmd.expiresAt <= cmd.issuedAt || cmd.expiresAt - cmd.issuedAt > MAX_COMMAND_LIFETIME_MS) {
    return { ok: false, code: 'lifetime', reason: `validity window ${cmd.expiresAt - cmd.issuedAt} ms: must be positive and at most ${MAX_COMMAND_LIFETIME_MS} ms`, id };
  }
  // Kept past expiry by the skew, so a replay is still recognised while a fast clock could accept it.
  if (!ctx.claim(cmd.id, cmd.expiresAt + skew)) return { ok: false, code: 'replay', reason: `command ${cmd.id} was already received`, id };
  return { ok: true, cmd };
}
