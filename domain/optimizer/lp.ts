// A small typed linear-programming model, written out in CPLEX LP format and solved by HiGHS
// (the `highs` package: HiGHS compiled to WebAssembly). The strategies build their models with
// it instead of writing LP text by hand; the WebAssembly module is loaded once per process.
import highsLoader from 'highs';

export interface LpVariable {
  name: string;
  /** Default 0; -Infinity for a free variable. */
  lb?: number;
  /** Default +Infinity. */
  ub?: number;
  /** Objective coefficient, default 0. */
  cost?: number;
}

export interface LpConstraint {
  name: string;
  terms: readonly (readonly [variable: string, coefficient: number])[];
  /** lb <= sum(terms) <= ub; give one or both (equal for an equality). */
  lb?: number;
  ub?: number;
}

export interface LpModel {
  sense: 'minimize' | 'maximize';
  variables: readonly LpVariable[];
  constraints: readonly LpConstraint[];
}

export interface LpSolution {
  status: string;
  optimal: boolean;
  objective: number;
  values: Map<string, number>;
  solveMs: number;
}

export class LpError extends Error {
  override name = 'LpError';
}

const NAME = /^[A-Za-z_][A-Za-z0-9_.]{0,254}$/;

/** A number as LP text: no exponent, which the LP format reads poorly in coefficients. */
function num(x: number): string {
  if (!Number.isFinite(x)) throw new LpError(`not a finite number: ${x}`);
  const s = String(x);
  return s.includes('e') ? x.toFixed(12).replace(/0+$/, '').replace(/\.$/, '') : s;
}

function linear(terms: readonly (readonly [string, number])[]): string {
  const parts: string[] = [];
  for (const [v, c] of terms) {
    if (c === 0) continue;
    parts.push(`${c < 0 ? '-' : '+'} ${num(Math.abs(c))} ${v}`);
  }
  return parts.length ? parts.join(' ') : '0 __zero';
}

/** The model in CPLEX LP format (the subset HiGHS reads). */
export function toLpText(model: LpModel): string {
  const known = new Set<string>();
  for (const v of model.variables) {
    if (!NAME.test(v.name)) throw new LpError(`bad variable name "${v.name}"`);
    if (known.has(v.name)) throw new LpError(`variable "${v.name}" twice`);
    known.add(v.name);
  }
  const lines: string[] = [model.sense === 'minimize' ? 'Minimize' : 'Maximize'];
  lines.push(` obj: ${linear(model.variables.filter((v) => v.cost).map((v) => [v.name, v.cost as number]))}`);
  lines.push('Subject To');
  let needsZero = !model.variables.some((v) => v.cost);
  for (const c of model.constraints) {
    if (!NAME.test(c.name)) throw new LpError(`bad constraint name "${c.name}"`);
    for (const [v] of c.terms) if (!known.has(v)) throw new LpError(`constraint ${c.name} uses unknown variable "${v}"`);
    if (c.terms.every(([, k]) => k === 0)) needsZero = true;
    const expr = linear(c.terms);
    const { lb, ub } = c;
    if (lb !== undefined && ub !== undefined && lb === ub) lines.push(` ${c.name}: ${expr} = ${num(lb)}`);
    else {
      if (lb !== undefined && lb > Number.NEGATIVE_INFINITY) lines.push(` ${c.name}_lo: ${expr} >= ${num(lb)}`);
      if (ub !== undefined && ub < Number.POSITIVE_INFINITY) lines.push(` ${c.name}_hi: ${expr} <= ${num(ub)}`);
    }
  }
  lines.push('Bounds');
  for (const v of model.variables) {
    const lb = v.lb ?? 0;
    const ub = v.ub ?? Number.POSITIVE_INFINITY;
    if (lb > ub) throw new LpError(`variable ${v.name}: lower bound ${lb} above upper bound ${ub}`);
    const lo = lb === Number.NEGATIVE_INFINITY ? '-inf' : num(lb);
    const hi = ub === Number.POSITIVE_INFINITY ? '+inf' : num(ub);
    lines.push(` ${lo} <= ${v.name} <= ${hi}`);
  }
  if (needsZero) lines.push(' __zero = 0');
  lines.push('End');
  return lines.join('\n');
}

type Highs = Awaited<ReturnType<typeof highsLoader>>;
let loading: Promise<Highs> | undefined;

/** The HiGHS WebAssembly module, loaded on first use (about 100 ms), then shared. */
export function highs(): Promise<Highs> {
  loading ??= highsLoader();
  return loading;
}

export interface SolveOptions {
  timeLimitS?: number;
  /** HiGHS's method: 'choose' (default) or 'ipm', the interior point method, much faster on long
   * chain-shaped models such as a whole year of 15-minute steps. */
  solver?: 'choose' | 'simplex' | 'ipm';
}

export async function solveLp(model: LpModel, options: SolveOptions = {}): Promise<LpSolution> {
  const solver = await highs();
  const text = toLpText(model);
  const started = performance.now();
  const result = solver.solve(text, { time_limit: options.timeLimitS ?? 10, output_flag: false, solver: options.solver ?? 'choose' } as Parameters<Highs['solve']>[1]);
  const solveMs = performance.now() - started;
  const values = new Map<string, number>();
  if (result.Status === 'Optimal') {
    for (const [name, col] of Object.entries(result.Columns)) values.set(name, (col as { Primal: number }).Primal);
  }
  return { status: result.Status, optimal: result.Status === 'Optimal', objective: result.ObjectiveValue, values, solveMs };
}
