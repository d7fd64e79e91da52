// Who may publish and subscribe to what on the fleet's MQTT broker: one statement of the rules,
// enforced by the embedded aedes broker (broker.ts) and written into Mosquitto's ACL file
// (mosquitto-files.ts), so both brokers say the same thing. Pure: no I/O.
//
// A site authenticates with its site id as username and may only speak about itself: it publishes
// its telemetry, state (retained, also its last will), alarms, command acks, its arbitrage plan and strategy settings
// (retained), and reads the commands, telemetry acks and OTA notices addressed to it. The cloud service account reads and
// writes everything under lifo4/, including shared subscriptions ($share/<group>/lifo4/...) that
// spread the ingest over several cloud runtimes. Nobody else gets in.
import { CLOUD_USERNAME, SiteIdSchema } from '../../domain/contracts';
import { TOPIC_ROOT } from '../../domain/topics';

/** The username of the cloud runtimes' service account; no site may use it as its id (domain/contracts.ts). */
export { CLOUD_USERNAME };

/** Topic suffixes under lifo4/<siteId>/ a site may publish to (domain/topics.ts). */
export const SITE_PUBLISH = ['telemetry', 'state', 'alarm', 'cmd/ack', 'plan', 'settings', 'ota/status'] as const;
/** Topic suffixes under lifo4/<siteId>/ a site may subscribe to, exactly (no wildcards). */
export const SITE_SUBSCRIBE = ['cmd', 'telemetry/ack', 'ota'] as const;

export type Principal = { kind: 'site'; siteId: string } | { kind: 'cloud' };

/** The principal a username stands for, or null when it can be neither a site nor the cloud. */
export function principalOf(username: string | undefined): Principal | null {
  if (username === undefined) return null;
  if (username === CLOUD_USERNAME) return { kind: 'cloud' };
  return SiteIdSchema.safeParse(username).success ? { kind: 'site', siteId: username } : null;
}

/** Whether `siteId` can be a site's username (a valid site id that is not the cloud account). */
export function isSiteUsername(siteId: string): boolean {
  return siteId !== CLOUD_USERNAME && SiteIdSchema.safeParse(siteId).success;
}

/**
 * Whether `principal` may connect with `clientId`. A site's client ids derive from its own id: the
 * id itself, `<siteId>:<anything>` (':' cannot occur in a site id, so no two sites share one) or
 * `lifo4-edge-<siteId>` (what the edge flow's MQTT link names itself, nodes/mqtt-link/link.ts; no
 * site id begins with "lifo4"). So a site cannot take over the cloud's OTA or ingest client id,
 * nor another site's. The cloud runtimes choose their own.
 */
export function mayUseClientId(principal: Principal, clientId: string): boolean {
  if (principal.kind === 'cloud') return true;
  const id = principal.siteId;
  return clientId === id || clientId.startsWith(`${id}:`) || clientId === `lifo4-edge-${id}`;
}

const ROOT_PREFIX = `${TOPIC_ROOT}/`;
const SHARE = /^\$share\/[^/+#]+\/(.+)$/;

/** A topic or filter lies within what Mosquitto's `lifo4/#` matches: lifo4 itself and everything under it. */
function underRoot(topicOrFilter: string): boolean {
  return topicOrFilter === TOPIC_ROOT || topicOrFilter.startsWith(ROOT_PREFIX);
}

/** Whether `principal` may publish on `topic` (a concrete topic, no wildcards). */
export function mayPublish(principal: Principal, topic: string): boolean {
  if (topic.includes('+') || topic.includes('#')) return false;
  if (principal.kind === 'cloud') return underRoot(topic);
  return SITE_PUBLISH.some((suffix) => topic === `${ROOT_PREFIX}${principal.siteId}/${suffix}`);
}

/**
 * Whether `principal` may subscribe to `filter`. A site names each of its topics exactly: a
 * wildcard could reach another site's topics. The cloud may use any filter under lifo4/, plain or
 * as a shared subscription.
 */
export function maySubscribe(principal: Principal, filter: string): boolean {
  if (principal.kind === 'cloud') {
    const shared = SHARE.exec(filter);
    return underRoot(shared ? shared[1]! : filter);
  }
  return SITE_SUBSCRIBE.some((suffix) => filter === `${ROOT_PREFIX}${principal.siteId}/${suffix}`);
}

/** The rules as Mosquitto ACL file lines: `pattern` lines use %u, the site's username = its id. */
export function mosquittoAclLines(): string[] {
  return [
    ...SITE_PUBLISH.map((suffix) => `pattern write ${ROOT_PREFIX}%u/${suffix}`),
    ...SITE_SUBSCRIBE.map((suffix) => `pattern read ${ROOT_PREFIX}%u/${suffix}`),
    '',
    `user ${CLOUD_USERNAME}`,
    `topic readwrite ${ROOT_PREFIX}#`,
  ];
}
