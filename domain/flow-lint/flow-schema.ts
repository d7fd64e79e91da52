// The boundary of the flow safety check: a flows file is a JSON array of nodes, each with an id
// and a type; everything else is kept as it is for the graph to read.
import { z } from 'zod';
import type { FlowNode } from './graph';

export const FlowSchema = z.array(z.looseObject({ id: z.string().min(1), type: z.string().min(1) }), {
  error: 'a flow is a JSON array of nodes (the editor\'s export, or a flows.json file)',
});

export function parseFlow(value: unknown): { ok: true; flow: FlowNode[] } | { ok: false; error: string } {
  const r = FlowSchema.safeParse(value);
  if (r.success) return { ok: true, flow: r.data };
  const issue = r.error.issues[0];
  return { ok: false, error: `${issue?.path.length ? `at [${issue.path.join('.')}]: ` : ''}${issue?.message ?? 'invalid flow'}` };
}
