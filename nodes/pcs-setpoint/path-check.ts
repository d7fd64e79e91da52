// The runtime half of the flow safety check: the admin API can deploy a flow without the editor,
// so a PCS write checks the deployed flow itself. RED.nodes.eachNode gives the whole deployed
// configuration (every tab, subflow and disabled node, as flat JSON), the same input `lifo4 lint`
// and the editor give the check.
import type { NodeAPI } from 'node-red';
import { parseFlow } from '../../domain/flow-lint/flow-schema';
import { issuesFor, lintFlow } from '../../domain/flow-lint/lint';

/**
 * The errors that make this PCS write unsafe to drive: a bypass of the arbiter, no safety
 * envelope, two arbiters, no heartbeat. `canvasId` is the node's id as on the canvas: inside a
 * subflow instance Node-RED gives the node a fresh id and keeps the definition's one as _alias,
 * so every instance of a definition refuses when one of them is bypassed (the safe side).
 */
export function deployedPathErrors(RED: NodeAPI, canvasId: string): string[] {
  const config: unknown[] = [];
  RED.nodes.eachNode((n) => { config.push(n); });
  const parsed = parseFlow(config);
  if (!parsed.ok) return [`the deployed flow cannot be checked: ${parsed.error}`];
  // The env resolves `${EMS_MODBUS_*}` addresses, so two writers of one PCS are found however written.
  return issuesFor(lintFlow(parsed.flow, undefined, { env: process.env }), canvasId).filter((i) => i.severity === 'error').map((i) => i.message);
}
