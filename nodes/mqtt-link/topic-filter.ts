// MQTT topic filters (MQTT 3.1.1 section 4.7): `+` matches one level, `#` the rest (including the
// parent level itself). A shared subscription `$share/<group>/<filter>` delivers topics that match
// <filter>; the broker strips the prefix, so messages arrive under their real topic.
export function filterOf(subscription: string): string {
  if (!subscription.startsWith('$share/')) return subscription;
  const rest = subscription.slice('$share/'.length);
  const slash = rest.indexOf('/');
  return slash < 0 ? rest : rest.slice(slash + 1);
}

export function topicMatches(subscription: string, topic: string): boolean {
  const filter = filterOf(subscription).split('/');
  const levels = topic.split('/');
  // Wildcards at the first level never match topics starting with $ (MQTT 3.1.1 4.7.2).
  if (topic.startsWith('$') && (filter[0] === '+' || filter[0] === '#')) return false;
  for (let i = 0; i < filter.length; i++) {
    const f = filter[i];
    if (f === '#') return true;
    if (i >= levels.length) return false;
    if (f !== '+' && f !== levels[i]) return false;
  }
  return filter.length === levels.length;
}
