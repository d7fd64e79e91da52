// Editor plugin, runtime half: serves the flow safety check (domain/flow-lint, compiled)
// to the editor, where the pcs-setpoint node's validation runs it on the workspace. The same
// module runs in `lifo4 lint` and in the runtime's refusal (nodes/pcs-setpoint/path-check.ts).
import type { NodeAPI } from 'node-red';
import { flowLintBrowserScript } from './browser-script';
import { MODBUS_ADDRESS_ENV } from '../../nodes/modbus-connection/config';

interface PluginApi { registerPlugin(id: string, def: Record<string, unknown>): void }

export = function register(RED: NodeAPI): void {
  (RED as unknown as { plugins: PluginApi }).plugins.registerPlugin('lifo4-flow-check', { type: 'lifo4-flow-check' });
  let script: string | null = null;
  // Code only, like Node-RED's own /resources: the editor loads it with a <script> element, which
  // carries no admin token, so it cannot sit behind needsPermission. It holds no site data.
  RED.httpAdmin.get('/lifo4/flow-lint.js', (_req, res) => {
    script ??= flowLintBrowserScript();
    res.type('application/javascript').set('cache-control', 'no-cache').send(script);
  });
  // The Modbus address the runtime gives `${EMS_MODBUS_*}`, so the check in the editor sees that a
  // connection written as a reference and one written as host and port reach the same device.
  // Behind the admin login: it says where the site's devices are.
  RED.httpAdmin.get('/lifo4/flow-env', RED.auth.needsPermission('flows.read'), (_req, res) => {
    const env: Record<string, string> = {};
    for (const name of Object.values(MODBUS_ADDRESS_ENV)) {
      const value = process.env[name];
      if (value !== undefined) env[name] = value;
    }
    res.set('cache-control', 'no-store').json(env);
  });
};
