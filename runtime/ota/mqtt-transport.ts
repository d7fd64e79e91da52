// The OtaTransport over an mqtt.js client (the cloud runtime's connection as the 'cloud' account):
// notices QoS 1, reports subscribed QoS 1 and re-subscribed after every reconnect.
import type { MqttClient } from 'mqtt';
import type { OtaTransport } from './ota-cloud';

export function mqttOtaTransport(client: MqttClient): OtaTransport {
  return {
    async publish(topic, payload) {
      await client.publishAsync(topic, payload, { qos: 1 });
    },
    subscribe(filter, handler) {
      const sub = () => client.subscribe(filter, { qos: 1 });
      const onMessage = (topic: string, payload: Buffer) => {
        if (topicMatches(filter, topic)) handler(topic, payload);
      };
      client.on('message', onMessage);
      client.on('connect', sub);
      if (client.connected) sub();
      return () => {
        client.off('message', onMessage);
        client.off('connect', sub);
        if (client.connected) client.unsubscribe(filter);
      };
    },
  };
}

/** MQTT filter match with + and # (MQTT 3.1.1 section 4.7). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
