// Config node: one MQTT client (link.ts) shared by every MQTT node that names it. The node itself
// is the MqttLink the others use (RED.nodes.getNode(id), or linkOf in link.ts).
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { parseConfig } from '../kit/config';
import { errorText } from '../kit/status';
import { hostMetrics } from '../../io/host-resources';
import { MqttLinkConfigSchema, MqttLinkCredentialsSchema } from './config';
import { AmqpLinkConnection } from './amqp-link';
import { MqttLinkConnection, type MqttLink, type MqttLinkNodeState } from './link';

type MqttLinkNode = Node<{ username?: string; password?: string }> & MqttLink & MqttLinkNodeState;

export = function register(RED: NodeAPI): void {
  function MqttLinkConfigNode(this: MqttLinkNode, def: NodeDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    node.configError = null;
    let conn: MqttLinkConnection | AmqpLinkConnection;
    try {
      const config = parseConfig(MqttLinkConfigSchema, 'mqtt-link', def);
      const credentials = parseConfig(MqttLinkCredentialsSchema, 'mqtt-link credentials', node.credentials ?? {});
      const log = (level: 'warn' | 'debug', text: string): void => (level === 'warn' ? node.warn(text) : node.debug(text));
      // amqp:// = the cloud on a RabbitMQ cluster: same nodes, AMQP underneath (amqp-link.ts).
      conn = /^amqps?:/.test(config.url)
        ? new AmqpLinkConnection({ urls: config.url.split(',').map((u) => u.trim()), credentials, ownerId: node.id, log })
        : new MqttLinkConnection({ config, credentials, ownerId: node.id, log });
    } catch (err) {
      // A missing certificate file lands here too: the nodes using this link say it is unusable.
      node.configError = errorText(err);
      node.error(err);
      return;
    }
    Object.defineProperties(node, {
      client: { get: () => (conn instanceof MqttLinkConnection ? conn.client : undefined), enumerable: true },
      connected: { get: () => conn.connected, enumerable: true },
      siteId: { get: () => conn.siteId, enumerable: true },
      stats: { get: () => conn.stats, enumerable: true },
    });
    node.subscribe = conn.subscribe.bind(conn);
    node.publish = conn.publish.bind(conn);
    conn.on('connect', () => node.emit('connect'));
    conn.on('offline', () => node.emit('offline'));
    const unwatch = hostMetrics(RED.settings).watchMqtt(node.name || node.id, () => conn.connected);

    node.on('close', (done: () => void) => {
      unwatch();
      conn.close().then(done, (err: unknown) => {
        node.warn(errorText(err));
        done();
      });
    });
  }
  RED.nodes.registerType('mqtt-link', MqttLinkConfigNode as unknown as (this: Node, def: NodeDef) => void, {
    credentials: { username: { type: 'text' }, password: { type: 'password' } },
  });
};
