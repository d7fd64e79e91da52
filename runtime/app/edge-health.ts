// What the edge tells the OTA agent about itself (runtime/ota/runtime-health.ts): its flows have
// started, its MQTT link to the cloud is connected, and a device was polled lately. Read through
// Node-RED's public runtime API: the flows:started event, the deployed mqtt-link nodes, and a send
// hook that notes when a device node last sent telemetry.
import RED from 'node-red';

const DEVICE_TYPES = new Set(['sunspec-device', 'profile-device']);

interface Connectable {
  connected?: unknown;
}

/** The runtime's node registry (@node-red/runtime lib/nodes): its typings omit these two. */
interface NodeRegistry {
  eachNode(cb: (n: { id: string; type: string }) => void): void;
  getNode(id: string): unknown;
}

export function edgeHealthFacts(): { mqttConnected(): boolean; flowsStarted(): boolean; lastPollTs(): number | null } {
  let started = false;
  let lastPoll: number | null = null;
  RED.events.on('flows:started', () => { started = true; });
  RED.events.on('flows:stopped', () => { started = false; });
  RED.hooks.add('onSend.lifo4-health', (events: { source?: { node?: { type?: string } } }[]) => {
    if (events.some((e) => DEVICE_TYPES.has(e.source?.node?.type ?? ''))) lastPoll = Date.now();
  });
  return {
    flowsStarted: () => started,
    lastPollTs: () => lastPoll,
    mqttConnected: () => {
      // Before the first flow start Node-RED has no active flow config, and eachNode would throw.
      if (!started) return false;
      let links = 0;
      let connected = 0;
      const nodes = RED.nodes as unknown as NodeRegistry;
      nodes.eachNode((n) => {
        if (n.type !== 'mqtt-link') return;
        links++;
        if ((nodes.getNode(n.id) as Connectable | null)?.connected === true) connected++;
      });
      return links > 0 && connected === links;
    },
  };
}
