// The flow safety check: nothing reaches the inverter except through the arbiter, and the arbiter
// decides inside the safety envelope (docs/ARCHITECTURE.md, "The arbiter": every decision is clamped into the
// safety envelope). Rules, on the live graph of graph.ts:
// - bypass (error): a strategy, a device or any message source reaches a PCS write on a path
//   without an arbiter.
// - no-safety (error): an arbiter driving a PCS write gets no envelope from a live safety-limits.
// - two-arbiters (error): two arbiters drive one PCS write; their setpoints would fight.
// - no-heartbeat (error): a PCS write whose configuration keeps no heartbeat, so the PCS does not
//   fall back to 0 W by itself when the controller dies.
// - disabled-gate (error): a disabled safety-limits or arbiter wired between live nodes: the
//   integrator believes the path is guarded, and it carries nothing.
// - two-writers (error): two PCS writes address one device (the same connection address and
//   unit), typically an imported example next to the default tab: each would overwrite the
//   other's setpoint every cycle, so both are errors and both refuse to write.
// - device-unwired (warning): a device node wired to nothing polls for no one.
// Pure: no Node-RED or I/O imports; the editor runs this same module in the browser.
import { buildFlowGraph, type FlowGraph, type FlowNode, type Vertex } from './graph';
import { NODE_ROLES, type NodeRole, type RoleEntry } from './roles';

export type LintRule = 'bypass' | 'no-safety' | 'two-arbiters' | 'two-writers' | 'no-heartbeat' | 'disabled-gate' | 'device-unwired';
export type LintSeverity = 'error' | 'warning';

export interface LintIssue {
  readonly rule: LintRule;
  readonly severity: LintSeverity;
  /** The node the issue is about, as on the canvas: [node] on a tab, [instance, ..., node] in a subflow. */
  readonly scope: readonly string[];
  readonly message: string;
  /** For path rules: the labels of the nodes along the offending path, source first. */
  readonly path?: readonly string[];
}

export interface LintResult {
  readonly issues: readonly LintIssue[];
  readonly errors: number;
  readonly warnings: number;
}

/** Types that hold a message only when something else sends them one. */
const PASSIVE_TYPES = new Set(['link in', 'link out', 'link call', 'junction']);

function roleOf(roles: Readonly<Record<string, RoleEntry>>, v: Vertex): NodeRole | undefined {
  return v.pseudo ? undefined : roles[v.type]?.role;
}

function liveNeighbours(graph: FlowGraph, key: string, dir: 'in' | 'out'): string[] {
  return [...((dir === 'in' ? graph.in : graph.out).get(key) ?? [])].filter((k) => graph.vertices.get(k)?.live === true);
}

/** Path labels from `from` back to `to` through the BFS parents, in message order. */
function pathOf(graph: FlowGraph, parent: ReadonlyMap<string, string>, from: string): string[] {
  const labels: string[] = [];
  let k: string | undefined = from;
  while (k !== undefined) {
    const v = graph.vertices.get(k);
    if (v && !v.pseudo && labels[labels.length - 1] !== v.label) labels.push(v.label);
    k = parent.get(k);
  }
  return labels;
}

/** What the host knows that the flow only refers to: environment variables a `${NAME}` property names. */
export interface LintContext {
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** A property that is exactly `${NAME}` (Node-RED substitutes it when the flow starts), resolved if known. */
function resolved(value: unknown, env: LintContext['env']): string {
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
  const ref = /^\$\{([^}\s]+)\}$/.exec(text);
  const name = ref?.[1];
  return name !== undefined && env?.[name] !== undefined ? String(env[name]).trim() : text;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/** The device a PCS write addresses, as text: its connection's address and the unit id. */
function writeTarget(graph: FlowGraph, pcs: Vertex, env: LintContext['env']): { key: string; text: string } {
  const connectionId = typeof pcs.config.connection === 'string' ? pcs.config.connection : '';
  const unit = resolved(pcs.config.unitId, env);
  const c = graph.nodes.get(connectionId);
  if (!c) return { key: `connection ${connectionId}|${unit}`, text: `unit ${unit} of connection ${connectionId || '(none)'}` };
  const transport = resolved(c.transport, env) || 'tcp';
  let address: string;
  if (transport === 'rtu') address = resolved(c.serialPath, env);
  else {
    const host = resolved(c.host, env).toLowerCase();
    address = `${LOOPBACK.has(host) ? '127.0.0.1' : host}:${resolved(c.port, env)}`;
  }
  return { key: `${transport}|${address}|${unit}`, text: `unit ${unit} at ${address}` };
}

/** The label of the tab a vertex sits on (through its outermost subflow instance). */
function tabOf(graph: FlowGraph, v: Vertex): string {
  const outer = graph.nodes.get(v.scope[0] ?? '');
  const tab = typeof outer?.z === 'string' ? graph.nodes.get(outer.z) : undefined;
  const label = typeof tab?.label === 'string' && tab.label.trim() ? tab.label.trim() : tab?.id;
  return label ? `tab "${label}"` : 'a subflow';
}

export function lintGraph(graph: FlowGraph, roles: Readonly<Record<string, RoleEntry>> = NODE_ROLES, context: LintContext = {}): LintResult {
  const issues: LintIssue[] = [];
  const add = (issue: LintIssue): void => { issues.push(issue); };

  const writers = new Map<string, Vertex[]>();
  for (const v of graph.vertices.values()) {
    if (!v.live || roleOf(roles, v) !== 'pcs-write') continue;
    const { key } = writeTarget(graph, v, context.env);
    writers.set(key, [...(writers.get(key) ?? []), v]);
  }
  for (const group of writers.values()) {
    if (group.length < 2) continue;
    for (const pcs of group) {
      const others = group.filter((o) => o !== pcs).map((o) => `${o.label} on ${tabOf(graph, o)}`);
      add({
        rule: 'two-writers',
        severity: 'error',
        scope: pcs.scope,
        message: `PCS write ${pcs.label} on ${tabOf(graph, pcs)} writes ${writeTarget(graph, pcs, context.env).text}, as does ${others.join(', ')}: two writers would overwrite each other's setpoint; disable one of them or its tab`,
      });
    }
  }

  for (const pcs of graph.vertices.values()) {
    if (!pcs.live || roleOf(roles, pcs) !== 'pcs-write') continue;
    const heartbeat = roles[pcs.type]?.heartbeatProblem?.(pcs.config) ?? null;
    if (heartbeat) add({ rule: 'no-heartbeat', severity: 'error', scope: pcs.scope, message: `PCS write ${pcs.label} ${heartbeat}` });

    // Walk upstream from the PCS write; an arbiter ends the walk (what is behind it is decided).
    const parent = new Map<string, string>();
    const seen = new Set([pcs.key]);
    const queue = [pcs.key];
    const arbiters: Vertex[] = [];
    const sources: string[] = [];
    while (queue.length > 0) {
      const k = queue.shift() as string;
      for (const up of liveNeighbours(graph, k, 'in')) {
        if (seen.has(up)) continue;
        seen.add(up);
        parent.set(up, k);
        const v = graph.vertices.get(up) as Vertex;
        const role = roleOf(roles, v);
        if (role === 'arbiter') { arbiters.push(v); continue; }
        const startsMessages = !v.pseudo && !PASSIVE_TYPES.has(v.type) && liveNeighbours(graph, up, 'in').length === 0;
        if (role === 'strategy' || role === 'device' || startsMessages) sources.push(up);
        queue.push(up);
      }
    }
    for (const s of sources) {
      const src = graph.vertices.get(s) as Vertex;
      const path = pathOf(graph, parent, s);
      add({
        rule: 'bypass',
        severity: 'error',
        scope: pcs.scope,
        message: `${src.label} reaches PCS write ${pcs.label} without passing safety-limits and the arbiter: ${path.join(' -> ')}`,
        path,
      });
    }
    if (arbiters.length > 1) {
      add({ rule: 'two-arbiters', severity: 'error', scope: pcs.scope, message: `PCS write ${pcs.label} is driven by ${arbiters.length} arbiters (${arbiters.map((a) => a.label).join(', ')}): their setpoints would fight; use one arbiter per PCS` });
    }
    for (const arbiter of arbiters) {
      if (!reachesUpstream(graph, arbiter.key, (v) => roleOf(roles, v) === 'safety')) {
        add({ rule: 'no-safety', severity: 'error', scope: pcs.scope, message: `arbiter ${arbiter.label} drives PCS write ${pcs.label} without a live safety-limits envelope: wire safety-limits into the arbiter` });
      }
    }
  }

  for (const v of graph.vertices.values()) {
    const role = roleOf(roles, v);
    if (v.disabledHere && (role === 'safety' || role === 'arbiter')) {
      const up = [...(graph.in.get(v.key) ?? [])].some((k) => graph.vertices.get(k)?.live === true);
      const down = [...(graph.out.get(v.key) ?? [])].some((k) => graph.vertices.get(k)?.live === true);
      if (up && down) add({ rule: 'disabled-gate', severity: 'error', scope: v.scope, message: `${v.label} is disabled but wired between live nodes: nothing passes it, and what it guards is unguarded` });
    }
    if (v.live && role === 'device' && liveNeighbours(graph, v.key, 'out').length === 0) {
      add({ rule: 'device-unwired', severity: 'warning', scope: v.scope, message: `device ${v.label} is wired to nothing: its readings reach no safety envelope or strategy` });
    }
  }
  const errors = issues.filter((i) => i.severity === 'error').length;
  return { issues, errors, warnings: issues.length - errors };
}

function reachesUpstream(graph: FlowGraph, from: string, wanted: (v: Vertex) => boolean): boolean {
  const seen = new Set([from]);
  const queue = [from];
  while (queue.length > 0) {
    const k = queue.shift() as string;
    for (const up of liveNeighbours(graph, k, 'in')) {
      if (seen.has(up)) continue;
      const v = graph.vertices.get(up) as Vertex;
      if (wanted(v)) return true;
      seen.add(up);
      queue.push(up);
    }
  }
  return false;
}

/** Lints a flat flow array (the editor's export, a flows file, the runtime's deployed config). */
export function lintFlow(
  flow: readonly FlowNode[],
  roles: Readonly<Record<string, RoleEntry>> = NODE_ROLES,
  context: LintContext & { readonly label?: (node: FlowNode) => string } = {},
): LintResult {
  return lintGraph(buildFlowGraph(flow, context.label), roles, context);
}

/** The issues about one node on the canvas: itself, or (in a subflow) its definition or an instance. */
export function issuesFor(result: LintResult, nodeId: string): LintIssue[] {
  return result.issues.filter((i) => i.scope.includes(nodeId));
}
