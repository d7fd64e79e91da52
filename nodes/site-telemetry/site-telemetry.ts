// site-telemetry: the device nodes' parts (battery, PCS, meter) in, the whole site's telemetry out.
// Each part that arrives is merged into the site's join (domain/telemetry-snapshot.ts: a part only
// replaces an older one, another site's is refused), and the joined Telemetry leaves at once, for a
// debug view, an HTTP endpoint or a flow of one's own that needs every part in one message.
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { SiteTelemetry } from '../../domain/telemetry-snapshot';
import { parseConfig } from '../kit/config';
import { errorStatus, okStatus, telemetrySummary } from '../kit/status';
import { otherSiteError, takeTelemetry } from '../kit/site-telemetry';
import { SiteTelemetryConfigSchema } from './config';

export = function register(RED: NodeAPI): void {
  function SiteTelemetryNode(this: Node, def: NodeDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    let site: SiteTelemetry;
    try {
      site = new SiteTelemetry(parseConfig(SiteTelemetryConfigSchema, 'site-telemetry', def).siteId);
    } catch (err) {
      node.status(errorStatus(err));
      node.error(err);
      return;
    }
    node.status({ fill: 'grey', shape: 'ring', text: 'waiting for telemetry' });

    node.on('input', (msg: NodeMessageInFlow, send, done) => {
      const t = takeTelemetry(site, msg.payload);
      if (t.kind === 'not-telemetry') return done(new Error(`site-telemetry: not telemetry: ${t.issues}`));
      if (t.kind === 'other-site') return done(otherSiteError('site-telemetry', site, t.siteId));
      const joined = site.joined();
      if (joined) {
        node.status(okStatus(telemetrySummary(joined)));
        send(Object.assign(msg, { topic: 'telemetry', payload: joined }));
      }
      done();
    });
  }
  RED.nodes.registerType('site-telemetry', SiteTelemetryNode);
};
