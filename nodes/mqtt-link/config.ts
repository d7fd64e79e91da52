// The mqtt-link config node's settings, as the editor stores them (strings or numbers).
import { z } from 'zod';
import { SiteIdSchema } from '../../domain/contracts';

export const MqttLinkConfigSchema = z.object({
  name: z.string().default(''),
  /**
   * One broker, or the nodes of one cluster as a comma list (failover between them): mqtt(s):// for
   * MQTT, or amqp(s):// for the cloud's AMQP link to a RabbitMQ cluster (amqp-link.ts).
   */
  url: z.string().regex(
    /^(mqtts?:\/\/[^\s/,]+(:\d+)?\/?)(\s*,\s*mqtts?:\/\/[^\s/,]+(:\d+)?\/?)*$|^(amqps?:\/\/[^\s/,]+(\/[^\s,]*)?)(\s*,\s*amqps?:\/\/[^\s/,]+(\/[^\s,]*)?)*$/,
    'url: mqtt://host:port or mqtts://host:port (several: comma-separated), or amqp://host:port for RabbitMQ',
  ).default('mqtt://127.0.0.1:1883'),
  clientId: z.string().max(128).regex(/^[A-Za-z0-9_.:-]*$/, 'clientId: letters, digits, _ . : - only').default(''),
  /** Set on an edge: the link then keeps lifo4/<siteId>/state retained and leaves 'offline' as its last will. */
  siteId: z.union([z.literal(''), SiteIdSchema]).default(''),
  /** File paths, '' = not used: CA bundle (TLS), client certificate and key (mTLS). */
  ca: z.string().default(''),
  cert: z.string().default(''),
  key: z.string().default(''),
  rejectUnauthorized: z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]).default(true),
  keepalive: z.coerce.number().int().min(1).max(3600).default(30),
});
export type MqttLinkConfig = z.infer<typeof MqttLinkConfigSchema>;

export const MqttLinkCredentialsSchema = z.object({
  username: z.string().max(256).optional(),
  password: z.string().max(1024).optional(),
});
export type MqttLinkCredentials = z.infer<typeof MqttLinkCredentialsSchema>;
