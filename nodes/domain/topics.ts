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
} as const;
