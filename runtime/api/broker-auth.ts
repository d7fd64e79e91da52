// RabbitMQ's HTTP auth backend (rabbitmq_auth_backend_http) asks the cloud who may connect and
// what they may touch: the same site accounts and the same rules as the embedded broker and the
// Mosquitto ACL (runtime/broker/acl.ts), so a site publishes only its own telemetry, state, alarms,
// command acks and plan, and reads only its own commands, telemetry acks and OTA notices. The MQTT
// plugin works with one queue per client (mqtt-subscription-<clientId>qos0/1) bound to amq.topic;
// a site may use only the queues of the client ids it may use. RabbitMQ POSTs form fields and
// reads "allow" or "deny" from the body. Served at /broker-auth with --broker-auth on (README,
// "Scale-out on a RabbitMQ cluster"): the brokers' network should be the only one that reaches it.
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { MQTT_EXCHANGE, topicOfRoutingKey } from '../../io/amqp/topology';
import { mayPublish, maySubscribe, mayUseClientId, principalOf, type Principal } from '../broker/acl';
import { verifyPassword } from '../broker/credentials';

/** Where the cloud serves it (deploy/cluster/rabbitmq.conf, auth_http.*_path). */
export const BROKER_AUTH_ROOT = '/broker-auth';

export interface BrokerAuthOptions {
  /** The stored hash of a username's broker password, or undefined when there is no such account. */
  credentials: (username: string) => string | undefined;
  /** Whether a site is revoked (runtime/ota/revocations.ts): it may not connect any more. */
  isRevoked?: (siteId: string) => boolean | Promise<boolean>;
}

const field = (req: Request, name: string): string => {
  const v = (req.body as Record<string, unknown> | undefined)?.[name];
  return typeof v === 'string' ? v : '';
};

/** The principal of a known, not revoked username, or null. */
async function known(o: BrokerAuthOptions, username: string): Promise<Principal | null> {
  const p = principalOf(username);
  if (!p || o.credentials(username) === undefined) return null;
  if (p.kind === 'site' && (await o.isRevoked?.(p.siteId))) return null;
  return p;
}

/** The MQTT plugin's queue of one client: mqtt-subscription-<clientId>qos0 or ...qos1. */
const CLIENT_QUEUE = /^mqtt-subscription-(.+)qos[01]$/;

/** Whether `p` may use resource `resource` named `name` with `permission` (configure, write, read). */
export function mayUseResource(p: Principal, resource: string, name: string, permission: string): boolean {
  if (p.kind === 'cloud') return true;
  if (resource === 'exchange') return name === MQTT_EXCHANGE && (permission === 'write' || permission === 'read');
  if (resource === 'queue') {
    const m = CLIENT_QUEUE.exec(name);
    return m !== null && mayUseClientId(p, m[1]!);
  }
  return false;
}

/** Whether `p` may publish to (write) or bind (read) routing key `key` on amq.topic. */
export function mayUseTopic(p: Principal, exchange: string, key: string, permission: string): boolean {
  if (exchange !== MQTT_EXCHANGE) return p.kind === 'cloud';
  if (permission === 'write') return mayPublish(p, topicOfRoutingKey(key));
  if (permission === 'read') return maySubscribe(p, topicOfRoutingKey(key).split('/').map((l) => (l === '*' ? '+' : l)).join('/'));
  return false;
}

export function brokerAuthRouter(o: BrokerAuthOptions): Router {
  const router = express.Router();
  router.use(express.urlencoded({ extended: false, limit: '8kb' }));
  const answer = (res: Response, allow: boolean): void => void res.type('text/plain').send(allow ? 'allow' : 'deny');
  // A check that fails (the database is away) goes to Express's error handler: a 500, which RabbitMQ takes as a refusal.
  const decide = (res: Response, next: NextFunction, allow: () => Promise<boolean>): void => void allow().then((ok) => answer(res, ok), next);
  router.post('/user', (req, res, next) => decide(res, next, async () => {
    const username = field(req, 'username');
    const hash = (await known(o, username)) ? o.credentials(username) : undefined;
    return hash !== undefined && verifyPassword(field(req, 'password'), hash);
  }));
  router.post('/vhost', (req, res, next) => decide(res, next, async () => (await known(o, field(req, 'username'))) !== null && field(req, 'vhost') === '/'));
  router.post('/resource', (req, res, next) => decide(res, next, async () => {
    const p = await known(o, field(req, 'username'));
    return p !== null && field(req, 'vhost') === '/' && mayUseResource(p, field(req, 'resource'), field(req, 'name'), field(req, 'permission'));
  }));
  router.post('/topic', (req, res, next) => decide(res, next, async () => {
    const p = await known(o, field(req, 'username'));
    return p !== null && field(req, 'vhost') === '/' && mayUseTopic(p, field(req, 'name'), field(req, 'routing_key'), field(req, 'permission'));
  }));
  return router;
}
