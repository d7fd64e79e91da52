// Editor plugin, runtime half of the live site sidebar. The site's data reaches the editor from
// the site-status node (nodes/site-status), which publishes the retained comms topic
// lifo4/site/<siteId> and serves GET/POST <admin>/lifo4/site behind needsPermission: the plugin
// itself holds no site data, so it only registers the editor half (site-sidebar.html).
import type { NodeAPI } from 'node-red';

interface PluginApi { registerPlugin(id: string, def: Record<string, unknown>): void }

export = function register(RED: NodeAPI): void {
  (RED as unknown as { plugins: PluginApi }).plugins.registerPlugin('lifo4-site-sidebar', { type: 'lifo4-site-sidebar' });
};
