// A flat Node-RED flow (the JSON the editor exports and the runtime deploys) resolved into the
// graph messages actually travel: link out -> link in, link call -> link in and back from a
// `return` link out, junctions, and every subflow instance expanded into its own copy of the
// subflow's nodes. Groups only arrange nodes on the canvas and change no wiring. A vertex is
// live when neither it, its tab, nor an enclosing subflow instance is disabled: a disabled node
// passes no message (Node-RED skips it when it builds the flows).
// No Node-RED or I/O imports: the editor runs this same code in the browser.

/** One entry of the flat flow array; only what the graph needs is read, everything else is kept. */
export interface FlowNode {
  readonly id: string;
  readonly type: string;
  readonly [key: string]: unknown;
}

export interface Vertex {
  /** Unique in the graph: the node id, prefixed by the subflow instance ids that contain it. */
  readonly key: string;
  /** The node's own id (inside a subflow: the id in the subflow definition). */
  readonly id: string;
  readonly type: string;
  readonly label: string;
  readonly config: FlowNode;
  /** Ids on the canvas from the outermost: [node] on a tab, [instance, ..., node] in a subflow. */
  readonly scope: readonly string[];
  readonly live: boolean;
  /** Disabled itself (d: true) while its tab and enclosing instances are enabled. */
  readonly disabledHere: boolean;
  /** Pseudo vertices (a subflow instance's ports, a link call's return side) start nothing. */
  readonly pseudo: boolean;
}

export interface FlowGraph {
  /** Every entry of the flow by id, config nodes and tabs included (they are no vertices). */
  readonly nodes: ReadonlyMap<string, FlowNode>;
  readonly vertices: ReadonlyMap<string, Vertex>;
  readonly out: ReadonlyMap<string, ReadonlySet<string>>;
  readonly in: ReadonlyMap<string, ReadonlySet<string>>;
}

const MAX_SUBFLOW_DEPTH = 16;

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** wires: [[id, ...] per output port]. */
function wirePorts(node: FlowNode): string[][] {
  return Array.isArray(node.wires) ? node.wires.map(stringList) : [];
}

export function nodeLabel(node: FlowNode): string {
  const name = typeof node.name === 'string' && node.name.trim() !== '' ? node.name.trim() : '';
  return name ? `"${name}" (${node.type})` : `${node.type} ${node.id}`;
}

interface SubflowPort { wires: { id: string; port: number }[] }

function subflowPorts(value: unknown): SubflowPort[] {
  if (!Array.isArray(value)) return [];
  return value.map((p: unknown) => {
    const wires = p && typeof p === 'object' && Array.isArray((p as { wires?: unknown }).wires) ? (p as { wires: unknown[] }).wires : [];
    return {
      wires: wires.flatMap((w) => {
        if (!w || typeof w !== 'object') return [];
        const { id, port } = w as { id?: unknown; port?: unknown };
        return typeof id === 'string' ? [{ id, port: typeof port === 'number' ? port : 0 }] : [];
      }),
    };
  });
}

/**
 * `label` names a node in messages; the editor passes its own (Node-RED's label of the node, as
 * on the canvas), `lifo4 lint` and the runtime use nodeLabel.
 */
export function buildFlowGraph(flow: readonly FlowNode[], label: (node: FlowNode) => string = nodeLabel): FlowGraph {
  const vertices = new Map<string, Vertex>();
  const out = new Map<string, Set<string>>();
  const inc = new Map<string, Set<string>>();
  const byContainer = new Map<string, FlowNode[]>();
  const tabs = new Map<string, FlowNode>();
  const subflows = new Map<string, FlowNode>();
  for (const n of flow) {
    if (n.type === 'tab') tabs.set(n.id, n);
    else if (n.type === 'subflow') subflows.set(n.id, n);
  }
  for (const n of flow) {
    if (typeof n.z !== 'string' || n.type === 'tab' || n.type === 'subflow' || n.type === 'group') continue;
    const list = byContainer.get(n.z) ?? [];
    list.push(n);
    byContainer.set(n.z, list);
  }

  const addVertex = (v: Vertex): void => {
    vertices.set(v.key, v);
    if (!out.has(v.key)) out.set(v.key, new Set());
    if (!inc.has(v.key)) inc.set(v.key, new Set());
  };
  const pendingEdges: [string, string][] = [];
  const edge = (from: string, to: string): void => { pendingEdges.push([from, to]); };

  // Link nodes connect only within one scope: the top level (all tabs together) or one instance.
  interface Scope { linkIns: Map<string, string>; linkOuts: FlowNode[]; linkCalls: FlowNode[]; prefix: string }
  const scopes: Scope[] = [];

  const returnKey = (prefix: string, id: string): string => `${prefix}${id}#return`;
  const portKey = (instanceKey: string, port: number): string => `${instanceKey}#out${port}`;
  /** A wire to `id` lands on the vertex of that node in the same scope. */
  const target = (prefix: string, id: string): string => `${prefix}${id}`;
  /** A wire from `node` leaves from its vertex, or a link call's return side. */
  const source = (prefix: string, node: FlowNode): string => (node.type === 'link call' ? returnKey(prefix, node.id) : `${prefix}${node.id}`);

  function expand(container: string[], prefix: string, scopeIds: string[], live: boolean, depth: number): void {
    const scope: Scope = { linkIns: new Map(), linkOuts: [], linkCalls: [], prefix };
    scopes.push(scope);
    for (const containerId of container) {
      const containerLive = live && !(tabs.get(containerId)?.disabled === true);
      for (const n of byContainer.get(containerId) ?? []) {
        const key = `${prefix}${n.id}`;
        const disabled = n.d === true;
        const nodeLive = containerLive && !disabled;
        const base = { id: n.id, type: n.type, label: label(n), config: n, scope: [...scopeIds, n.id], live: nodeLive, disabledHere: containerLive && disabled };
        addVertex({ ...base, key, pseudo: false });
        const ports = wirePorts(n);
        const instanceOf = n.type.startsWith('subflow:') ? subflows.get(n.type.slice('subflow:'.length)) : undefined;
        if (instanceOf && depth < MAX_SUBFLOW_DEPTH) {
          const inner = `${key}/`;
          expand([instanceOf.id], inner, [...scopeIds, n.id], nodeLive, depth + 1);
          for (const p of subflowPorts(instanceOf.in)) for (const w of p.wires) edge(key, target(inner, w.id));
          subflowPorts(instanceOf.out).forEach((p, index) => {
            const pk = portKey(key, index);
            addVertex({ ...base, key: pk, pseudo: true });
            for (const w of p.wires) edge(w.id === instanceOf.id ? key : `${inner}${w.id}`, pk);
            for (const t of ports[index] ?? []) edge(pk, target(prefix, t));
          });
          continue;
        }
        if (n.type === 'link call') addVertex({ ...base, key: returnKey(prefix, n.id), pseudo: true });
        if (n.type === 'link in') scope.linkIns.set(n.id, key);
        if (n.type === 'link out') scope.linkOuts.push(n);
        if (n.type === 'link call') scope.linkCalls.push(n);
        for (const port of ports) for (const t of port) edge(source(prefix, n), target(prefix, t));
      }
    }
  }
  expand([...tabs.keys()], '', [], true, 0);

  // Inner wires of a subflow may point at an instance's output port through the subflow's out
  // definition; wires that point at ids of the subflow's own nodes inside an instance resolve to
  // the instance copy. Link wiring, per scope:
  for (const scope of scopes) {
    for (const lo of scope.linkOuts) {
      if (lo.mode === 'return') continue;
      for (const id of stringList(lo.links)) if (scope.linkIns.has(id)) edge(`${scope.prefix}${lo.id}`, `${scope.prefix}${id}`);
    }
    for (const [id, key] of scope.linkIns) {
      const li = vertices.get(key)?.config;
      for (const from of stringList(li?.links)) {
        const lo = scope.linkOuts.find((o) => o.id === from);
        if (lo && lo.mode !== 'return') edge(`${scope.prefix}${from}`, `${scope.prefix}${id}`);
      }
    }
    for (const call of scope.linkCalls) {
      // A dynamic link call picks its target from msg.target at run time: assume any link in.
      const targets = call.linkType === 'dynamic' ? [...scope.linkIns.keys()] : stringList(call.links).filter((id) => scope.linkIns.has(id));
      for (const id of targets) edge(`${scope.prefix}${call.id}`, `${scope.prefix}${id}`);
    }
  }
  for (const [from, to] of pendingEdges) {
    if (!vertices.has(from) || !vertices.has(to)) continue;
    out.get(from)?.add(to);
    inc.get(to)?.add(from);
  }
  // A `return` link out sends the message back to the link call that reached it.
  for (const scope of scopes) {
    const returns = new Set(scope.linkOuts.filter((o) => o.mode === 'return').map((o) => `${scope.prefix}${o.id}`));
    if (returns.size === 0) continue;
    for (const call of scope.linkCalls) {
      const start = [...(out.get(`${scope.prefix}${call.id}`) ?? [])];
      const seen = new Set<string>(start);
      while (start.length > 0) {
        const k = start.pop() as string;
        if (returns.has(k)) {
          out.get(k)?.add(returnKey(scope.prefix, call.id));
          inc.get(returnKey(scope.prefix, call.id))?.add(k);
        }
        for (const next of out.get(k) ?? []) if (!seen.has(next)) { seen.add(next); start.push(next); }
      }
    }
  }
  return { nodes: new Map(flow.map((n) => [n.id, n])), vertices, out, in: inc };
}
