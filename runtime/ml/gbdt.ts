// A small gradient-boosted regression tree trainer (squared loss, histogram splits), written for
// export to ai.onnx.ml TreeEnsembleRegressor: every threshold is a float32 midpoint between two
// training values and every leaf weight is a float32, so the ONNX runtime (which compares float32
// inputs with `x <= threshold`, BRANCH_LEQ) routes each row exactly as this trainer does.
import { z } from 'zod';

export const GbdtParamsSchema = z.object({
  nTrees: z.number().int().min(1).max(5000).default(200),
  learningRate: z.number().gt(0).max(1).default(0.1),
  maxDepth: z.number().int().min(1).max(12).default(6),
  minSamplesLeaf: z.number().int().min(1).default(20),
  /** L2 regularisation on leaf weights (XGBoost's lambda). */
  lambda: z.number().min(0).default(1),
  maxBins: z.number().int().min(2).max(255).default(64),
  /** Fraction of rows each tree sees (stochastic gradient boosting, Friedman 2002). */
  subsample: z.number().gt(0).max(1).default(1),
  seed: z.number().int().default(1),
  /** 'l2' fits the conditional mean; 'l1' the conditional median (leaf = median residual, as
   *  LightGBM's regression_l1), the right objective when the score is an absolute error. */
  loss: z.enum(['l2', 'l1']).default('l2'),
});
export type GbdtParams = z.infer<typeof GbdtParamsSchema>;

/** One node: a split when feature >= 0 (x[feature] <= threshold goes left), else a leaf. */
export interface TreeNode {
  feature: number;
  threshold: number;
  left: number;
  right: number;
  value: number;
}
export interface RegressionTree {
  nodes: TreeNode[];
}
export interface GbdtModel {
  nFeatures: number;
  /** Added to the sum of the trees (ONNX base_values). */
  baseScore: number;
  trees: RegressionTree[];
}

export class GbdtError extends Error {
  override name = 'GbdtError';
}

/** mulberry32: a tiny seeded PRNG so training is reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A float32 threshold t with lo <= t < hi (lo < hi are float32 values). */
function midpoint(lo: number, hi: number): number {
  const t = Math.fround((lo + hi) / 2);
  return t >= lo && t < hi ? t : lo;
}

/**
 * Split candidates for one column: float32 thresholds between distinct values, at most maxBins-1,
 * placed at count quantiles.
 */
export function binThresholds(column: Float32Array, maxBins: number): Float32Array {
  const sorted = Float32Array.from(column).sort();
  const uniq: number[] = [];
  const counts: number[] = [];
  for (const v of sorted) {
    if (uniq.length && uniq[uniq.length - 1] === v) counts[counts.length - 1]! += 1;
    else {
      uniq.push(v);
      counts.push(1);
    }
  }
  const out: number[] = [];
  if (uniq.length <= maxBins) {
    for (let i = 0; i + 1 < uniq.length; i++) out.push(midpoint(uniq[i]!, uniq[i + 1]!));
  } else {
    const n = sorted.length;
    let cum = 0;
    let k = 1;
    for (let i = 0; i + 1 < uniq.length && k < maxBins; i++) {
      cum += counts[i]!;
      if (cum >= (k * n) / maxBins) {
        out.push(midpoint(uniq[i]!, uniq[i + 1]!));
        while (k < maxBins && cum >= (k * n) / maxBins) k++;
      }
    }
  }
  return Float32Array.from(out);
}

/** Bin of x: the number of thresholds strictly below x (x <= t[b] for the first such b). */
function binOf(thresholds: Float32Array, x: number): number {
  let lo = 0;
  let hi = thresholds.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (x <= thresholds[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

export function predictTree(tree: RegressionTree, X: Float32Array, row: number, nFeatures: number): number {
  let i = 0;
  for (;;) {
    const node = tree.nodes[i]!;
    if (node.feature < 0) return node.value;
    i = X[row * nFeatures + node.feature]! <= node.threshold ? node.left : node.right;
  }
}

/** Predictions for every row of X (row-major, model.nFeatures columns). */
export function predictGbdt(model: GbdtModel, X: Float32Array): Float64Array {
  const n = X.length / model.nFeatures;
  const out = new Float64Array(n).fill(model.baseScore);
  for (const tree of model.trees) for (let r = 0; r < n; r++) out[r]! += predictTree(tree, X, r, model.nFeatures);
  return out;
}

/**
 * Fits y ~ X with squared loss. X is row-major float32 (nRows x nFeatures); rows are routed on the
 * float32 values, exactly as the exported graph will route them.
 */
export function trainGbdt(X: Float32Array, nFeatures: number, y: ArrayLike<number>, params: Partial<GbdtParams> = {}): GbdtModel {
  const p = GbdtParamsSchema.parse(params);
  const n = y.length;
  if (n === 0 || X.length !== n * nFeatures) throw new GbdtError(`X has ${X.length} values, expected ${n} rows x ${nFeatures} features`);
  for (let i = 0; i < n; i++) if (!Number.isFinite(y[i])) throw new GbdtError(`y[${i}] is not finite`);
  for (let i = 0; i < X.length; i++) if (!Number.isFinite(X[i])) throw new GbdtError(`X[${i}] is not finite`);

  // Column-major bins for cache-friendly histograms.
  const thresholds: Float32Array[] = [];
  const bins: Uint8Array[] = [];
  for (let f = 0; f < nFeatures; f++) {
    const col = new Float32Array(n);
    for (let r = 0; r < n; r++) col[r] = X[r * nFeatures + f]!;
    const t = binThresholds(col, p.maxBins);
    thresholds.push(t);
    const b = new Uint8Array(n);
    for (let r = 0; r < n; r++) b[r] = binOf(t, col[r]!);
    bins.push(b);
  }

  let base = 0;
  for (let i = 0; i < n; i++) base += y[i]!;
  base = Math.fround(base / n);
  if (p.loss === 'l1') {
    const sorted = Float64Array.from(y).sort();
    base = Math.fround(sorted[n >> 1]!);
  }
  const pred = new Float64Array(n).fill(base);
  const grad = new Float64Array(n);
  const rand = prng(p.seed);
  const trees: RegressionTree[] = [];
  const maxB = p.maxBins + 1;
  const hg = new Float64Array(maxB);
  const hc = new Float64Array(maxB);

  for (let t = 0; t < p.nTrees; t++) {
    for (let i = 0; i < n; i++) grad[i] = p.loss === 'l2' ? pred[i]! - y[i]! : Math.sign(pred[i]! - y[i]!);
    let rows: Uint32Array;
    if (p.subsample < 1) {
      const picked: number[] = [];
      for (let i = 0; i < n; i++) if (rand() < p.subsample) picked.push(i);
      rows = Uint32Array.from(picked.length ? picked : [0]);
    } else rows = Uint32Array.from({ length: n }, (_, i) => i);

    const nodes: TreeNode[] = [];
    const medianResidual = (idx: Uint32Array): number => {
      const res = new Float64Array(idx.length);
      idx.forEach((r, i) => (res[i] = y[r]! - pred[r]!));
      res.sort();
      const h = res.length >> 1;
      return res.length % 2 ? res[h]! : (res[h - 1]! + res[h]!) / 2;
    };
    const grow = (idx: Uint32Array, depth: number): number => {
      const id = nodes.length;
      let G = 0;
      for (const r of idx) G += grad[r]!;
      const leafValue = (): number =>
        p.loss === 'l2' ? Math.fround((-G / (idx.length + p.lambda)) * p.learningRate) : Math.fround(medianResidual(idx) * p.learningRate);
      nodes.push({ feature: -1, threshold: 0, left: 0, right: 0, value: 0 });
      if (depth >= p.maxDepth || idx.length < 2 * p.minSamplesLeaf) {
        nodes[id]!.value = leafValue();
        return id;
      }
      const parentScore = (G * G) / (idx.length + p.lambda);
      let bestGain = 1e-12;
      let bestF = -1;
      let bestB = -1;
      for (let f = 0; f < nFeatures; f++) {
        const nb = thresholds[f]!.length;
        if (nb === 0) continue;
        hg.fill(0, 0, nb + 1);
        hc.fill(0, 0, nb + 1);
        const col = bins[f]!;
        for (const r of idx) {
          const b = col[r]!;
          hg[b]! += grad[r]!;
          hc[b]! += 1;
        }
        let gl = 0;
        let cl = 0;
        for (let b = 0; b < nb; b++) {
          gl += hg[b]!;
          cl += hc[b]!;
          const cr = idx.length - cl;
          if (cl < p.minSamplesLeaf) continue;
          if (cr < p.minSamplesLeaf) break;
          const gr = G - gl;
          const gain = (gl * gl) / (cl + p.lambda) + (gr * gr) / (cr + p.lambda) - parentScore;
          if (gain > bestGain) {
            bestGain = gain;
            bestF = f;
            bestB = b;
          }
        }
      }
      if (bestF < 0) {
        nodes[id]!.value = leafValue();
        return id;
      }
      const col = bins[bestF]!;
      let nl = 0;
      for (const r of idx) if (col[r]! <= bestB) nl++;
      const li = new Uint32Array(nl);
      const ri = new Uint32Array(idx.length - nl);
      let a = 0;
      let c = 0;
      for (const r of idx) {
        if (col[r]! <= bestB) li[a++] = r;
        else ri[c++] = r;
      }
      const node = nodes[id]!;
      node.feature = bestF;
      node.threshold = thresholds[bestF]![bestB]!;
      node.left = grow(li, depth + 1);
      node.right = grow(ri, depth + 1);
      return id;
    };
    grow(rows, 0);
    const tree = { nodes };
    trees.push(tree);
    for (let r = 0; r < n; r++) pred[r]! += predictTree(tree, X, r, nFeatures);
  }
  return { nFeatures, baseScore: base, trees };
}
