// The telemetry-in node's editor configuration.
import { z } from 'zod';

export const TelemetryInConfigSchema = z.object({
  name: z.string().default(''),
  /** The mqtt-link config node's id. */
  link: z.string().default(''),
  /**
   * '' = every record of every site comes to this node; a group name = shared subscription
   * $share/<group>/lifo4/+/telemetry: the cloud runtimes in one group each get a share.
   */
  group: z.union([z.literal(''), z.string().regex(/^[A-Za-z0-9_-]+$/, 'group: letters, digits, _ and - only')]).default(''),
  /** A record handed to the store and neither stored nor refused by then is taken again, s. */
  inFlightTtlS: z.coerce.number().int().min(1).max(3600).default(30),
  /**
   * Records after a gap in a site's seqs wait this long for the gap to be filled, so they are stored
   * in order (in-order.ts), s; 0 = store as they come. Not used with a shared group: each cloud
   * runtime then sees only part of a site's stream.
   */
  orderWaitS: z.coerce.number().min(0).max(600).default(20),
  /**
   * New records of all sites go out as one message per this many ms (a batch through the flow,
   * not a message per record), ms; 0 = one message per MQTT message.
   */
  batchMs: z.coerce.number().int().min(0).max(1000).default(10),
  /**
   * At most one ack per site per this many ms, naming every range committed since the last one
   * (ack-coalescer.ts); keep it well inside the edge's ack timeout (telemetry-out's, 10 s). 0 = one
   * ack per commit.
   */
  ackIntervalMs: z.coerce.number().int().min(0).max(5000).default(1000),
  /**
   * Worker threads that check and parse the messages (parse-pool.ts), so the cloud's main event
   * loop keeps the API responsive under full ingest; 'auto' = one per core but one, at least one;
   * 0 = in the node's own thread (small deployments).
   */
  parseWorkers: z.union([
    z.literal('auto'),
    z.number().int().min(0).max(32),
    // The editor stores the field as text; an empty field is an error, not 0.
    z.string().regex(/^\d+$/, "parseWorkers: 'auto' or a number of threads, 0-32").transform(Number).pipe(z.number().int().min(0).max(32)),
  ]).default('auto'),
});
export type TelemetryInConfig = z.infer<typeof TelemetryInConfigSchema>;
