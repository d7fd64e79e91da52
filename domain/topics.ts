// MQTT topic names and the msg.topic of telemetry inside flows: one place for all of them.
export const TOPIC_ROOT = 'lifo4';

export const topics = {
  telemetry: (siteId: string) => `${TOPIC_ROOT}/${siteId}/telemetry`,
  telemetryAck: (siteId: string) => `${TOPIC_ROOT}/${siteId}/telemetry/ack`,
  alarm: (siteId: string) => `${TOPIC_ROOT}/${siteId}/alarm`,
  state: (siteId: string) => `${TOPIC_ROOT}/${siteId}/state`,
  cmd: (siteId: string) => `${TOPIC_ROOT}/${siteId}/cmd`,
  cmdAck: (siteId: string) => `${TOPIC_ROOT}/${siteId}/cmd/ack`,
  ota: (siteId: string) => `${TOPIC_ROOT}/${siteId}/ota`,
  /** The site's current arbitrage plan, retained: only the latest matters, so it skips the buffer. */
  plan: (siteId: string) => `${TOPIC_ROOT}/${siteId}/plan`,
  /** The strategy settings in force at the site (EffectiveSettings), retained. */
  settings: (siteId: string) => `${TOPIC_ROOT}/${siteId}/settings`,
} as const;

/** The cloud's wildcard subscriptions, one site level `+`. */
export const fleetTopics = {
  telemetry: `${TOPIC_ROOT}/+/telemetry`,
  state: `${TOPIC_ROOT}/+/state`,
  alarm: `${TOPIC_ROOT}/+/alarm`,
  cmdAck: `${TOPIC_ROOT}/+/cmd/ack`,
  plan: `${TOPIC_ROOT}/+/plan`,
  settings: `${TOPIC_ROOT}/+/settings`,
} as const;

/**
 * An MQTT 5 / Mosquitto shared subscription: each message goes to one member of the group, so
 * several cloud runtimes split the ingest between them.
 */
export function sharedSubscription(group: string, filter: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(group)) throw new Error(`shared subscription group "${group}": letters, digits, _ and - only`);
  return `$share/${group}/${filter}`;
}

/** The site id of a topic lifo4/<siteId>/..., or null when the topic is not one of ours. */
export function siteIdOfTopic(topic: string): string | null {
  const parts = topic.split('/');
  return parts.length >= 3 && parts[0] === TOPIC_ROOT && /^[A-Za-z0-9_-]{1,64}$/.test(parts[1]!) ? parts[1]! : null;
}
