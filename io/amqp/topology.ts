// How MQTT topics and subscriptions map onto RabbitMQ, in one place: the MQTT plugin publishes to
// amq.topic with each `/` of the topic turned into `.` (so our topics hold no dots: site ids are
// [A-Za-z0-9_-], domain/contracts.ts), and an AMQP publish to amq.topic reaches the MQTT
// subscribers whose filter matches its routing key. A shared subscription $share/<group>/<filter>
// becomes one durable quorum queue per group, read by competing consumers with manual acks; any
// other subscription is bound to the connection's own exclusive queue (each process sees every
// message, as an MQTT subscriber does). See docs/ARCHITECTURE.md, "AMQP ingest".

/** The exchange the MQTT plugin publishes to and reads from (deploy/cluster/rabbitmq.conf, mqtt.exchange). */
export const MQTT_EXCHANGE = 'amq.topic';

/** A shared group's queue: durable, replicated on every cluster member, majority-committed. */
export const SHARED_QUEUE_ARGUMENTS = { 'x-queue-type': 'quorum' } as const;

/** The queue of shared group `group`. */
export function sharedQueueName(group: string): string {
  return `lifo4-share-${group}`;
}

/** The routing key of an MQTT topic; refuses topics that would change meaning (dots, wildcards). */
export function routingKeyOf(topic: string): string {
  if (/[.+#]/.test(topic) || topic === '') throw new Error(`topic "${topic}" cannot be routed over AMQP (no '.', '+' or '#')`);
  return topic.split('/').join('.');
}

/** The MQTT topic a routing key from amq.topic stands for. */
export function topicOfRoutingKey(key: string): string {
  return key.split('.').join('/');
}

export interface SubscriptionRoute {
  /** The shared group, or null for the connection's own queue. */
  group: string | null;
  /** The binding key on amq.topic. */
  bindingKey: string;
}

/** Where an MQTT subscription (filter, maybe $share/<group>/filter) is bound on RabbitMQ. */
export function routeOf(subscription: string): SubscriptionRoute {
  let group: string | null = null;
  let filter = subscription;
  const shared = /^\$share\/([^/]+)\/(.+)$/.exec(subscription);
  if (shared) {
    group = shared[1]!;
    filter = shared[2]!;
    if (!/^[A-Za-z0-9_-]+$/.test(group)) throw new Error(`shared group "${group}": letters, digits, _ and - only`);
  }
  const levels = filter.split('/');
  if (levels.some((l) => l.includes('.') || (l !== '+' && l !== '#' && /[+#]/.test(l)))) throw new Error(`filter "${filter}" cannot be bound over AMQP`);
  return { group, bindingKey: levels.map((l) => (l === '+' ? '*' : l)).join('.') };
}

/** AMQP topic matching: `*` one word, `#` zero or more. */
export function keyMatches(bindingKey: string, routingKey: string): boolean {
  const b = bindingKey.split('.');
  const r = routingKey.split('.');
  const match = (i: number, j: number): boolean => {
    if (i === b.length) return j === r.length;
    if (b[i] === '#') return match(i + 1, j) || (j < r.length && match(i, j + 1));
    if (j === r.length) return false;
    return (b[i] === '*' || b[i] === r[j]) && match(i + 1, j + 1);
  };
  return match(0, 0);
}
