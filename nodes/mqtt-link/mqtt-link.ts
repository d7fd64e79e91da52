// Config node: one MQTT client (link.ts) shared by every MQTT node that names it. The node itself
// is the MqttLink the others use (RED.nodes.getNode(id), or linkOf in link.ts).
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { parseConfig } from '../kit/config';
import { errorText } from '../kit/status';
import { hostMetrics } from '../../io/host-resources';
import { MqttLinkConfigSchema, MqttLinkCredentialsSchema } from './config';
import { MqttLinkConnection, type MqttLink, type MqttLinkNodeState } from './link';

type MqttLinkNode = Node<{ username?: string; password?: string }> & MqttLink & MqttLinkNodeState;

export = function register(RED: NodeAPI): void {
  function MqttLinkConfigNode(this: MqttLinkNode, def: NodeDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    node.configError = null;
    let conn: MqttLinkConnection;
    try {
      const config = parseConfig(MqttLinkConfigSchema, 'mqtt-link', def);
      const credentials = parseConfig(MqttLinkCredentialsSchema, 'mqtt-link credentials', node.credentials ?? {});
      conn = new MqttLinkConnection({
        config, credentials, ownerId: node.id,
        log: (level, text) => (level === 'warn' ? node.warn(text) : node.debug(text)),
      });
    } catch (err) {
      // A missing certificate file lands here too: the nodes using this link say it is unusable.
      node.configError = errorText(err);
      node.error(err);
      return;
    }
    Object.defineProperties(node, {
      client: { get: () => conn.client, enumerable: true },
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
