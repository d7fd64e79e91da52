// Isolation forest (Liu, Ting and Zhou, ICDM 2008): random trees on subsamples isolate a point by
// random splits; anomalies are isolated in fewer splits. Score s(x) = 2^(-E[h(x)] / c(psi)), where
// h(x) is the path length to the leaf plus c(leaf size) for the unbuilt subtree, and c(n) the mean
// path length of an unsuccessful search in a binary search tree of n points:
//   c(n) = 2 H(n-1) - 2 (n-1) / n, H(i) ~ ln(i) + 0.5772156649 (Euler's constant), c(2) = 1, c(<2) = 0.
// s near 1: anomaly; well below 0.5: normal.
//
// ONNX mapping (ai.onnx.ml TreeEnsembleRegressor, Operators-ml.md): each isolation tree is one tree
// of the ensemble, split `x < t` is BRANCH_LT with true = left; each leaf's weight is its path
// length, depth + c(size); aggregate_function AVERAGE gives E[h(x)] over the trees. The score then is
// two standard ops: Mul by -ln(2) / c(psi) and Exp, since 2^(-E/c) = exp(-E ln 2 / c).
// Thresholds are float32 (the features are float32 on both sides), so routing is bit-identical.
import { z } from 'zod';
import { Prng } from '../simulator/prng';
import { ANOMALY_MODEL_KIND } from '../../io/ml/model-files';
import { encodeModel, floatInput, floatTensor, node, treeEnsembleRegressor } from './onnx-graph';

export const IsolationForestParamsSchema = z.object({
  trees: z.number().int().positive().max(1000).default(100),
  /** Subsample size psi (the paper's 256; smaller for small training sets). */
  sampleSize: z.number().int().min(2).default(256),
  seed: z.number().int().default(1),
  /**
   * Split thresholds are drawn from the node's range widened by this part of it on each side
   * (0 = the classic forest). A threshold outside the data leaves one side empty: a leaf of size 0
   * that only points beyond the training range reach, so a value far outside every healthy cycle
   * is isolated early instead of sharing the most extreme training point's leaf (the classic
   * forest's scores saturate there).
   */
  rangeMargin: z.number().nonnegative().max(10).default(0),
});
export type IsolationForestParams = z.input<typeof IsolationForestParamsSchema>;

export interface IsoNode {
  /** -1 for a leaf. */
  feature: number;
  threshold: number;
  left: number;
  right: number;
  /** Leaf: training points that reached it, and its depth. */
  size: number;
  depth: number;
}

export interface IsolationForest {
  trees: IsoNode[][];
  /** The subsample size actually used (min(psi, rows)). */
  sampleSize: number;
  nFeatures: number;
}

const EULER = 0.5772156649015329;

/** Mean path length of an unsuccessful BST search among n points. */
export function averagePathLength(n: number): number {
  if (n < 2) return 0;
  if (n === 2) return 1;
  return 2 * (Math.log(n - 1) + EULER) - (2 * (n - 1)) / n;
}

function buildTree(X: Float32Array, nFeatures: number, rows: number[], heightLimit: number, rng: Prng, margin: number): IsoNode[] {
  const nodes: IsoNode[] = [];
  const grow = (idx: number[], depth: number): number => {
    const me = nodes.length;
    nodes.push({ feature: -1, threshold: 0, left: 0, right: 0, size: idx.length, depth });
    if (depth >= heightLimit || idx.length === 0 || (idx.length === 1 && margin === 0)) return me;
    // A random feature among those that still vary here (none: the points are identical, a leaf).
    const ranges: { f: number; lo: number; hi: number }[] = [];
    for (let f = 0; f < nFeatures; f++) {
      let lo = Infinity;
      let hi = -Infinity;
      for (const r of idx) {
        const v = X[r * nFeatures + f]!;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      if (hi > lo) ranges.push({ f, lo, hi });
    }
    if (!ranges.length && margin === 0) return me;
    let pick: { f: number; lo: number; hi: number };
    let t: number;
    if (ranges.length) {
      pick = ranges[Math.floor(rng.next() * ranges.length)]!;
      const w = (pick.hi - pick.lo) * margin;
      // Uniform in (lo - w, hi + w], as float32; `x < t` goes left. Without margin both sides get a point.
      t = Math.fround(pick.lo - w + rng.next() * (pick.hi - pick.lo + 2 * w));
      if (margin === 0 && !(t > pick.lo)) t = pick.hi;
    } else {
      // Identical points (or one): with a margin, cut off one side around them at a random scale.
      const f = Math.floor(rng.next() * nFeatures);
      const v = X[idx[0]! * nFeatures + f]!;
      const w = Math.max(Math.abs(v), 1) * margin * rng.next();
      pick = { f, lo: v, hi: v };
      t = Math.fround(rng.next() < 0.5 ? v - w : v + w);
      if (t === v) return me;
    }
    const left = idx.filter((r) => X[r * nFeatures + pick.f]! < t);
    const right = idx.filter((r) => !(X[r * nFeatures + pick.f]! < t));
    const n = nodes[me]!;
    n.feature = pick.f;
    n.threshold = t;
    n.left = grow(left, depth + 1);
    n.right = grow(right, depth + 1);
    return me;
  };
  grow(rows, 0);
  return nodes;
}

/** Train on X (rows x nFeatures, row-major float32). */
export function trainIsolationForest(X: Float32Array, nFeatures: number, params: IsolationForestParams = {}): IsolationForest {
  const p = IsolationForestParamsSchema.parse(params);
  const n = X.length / nFeatures;
  if (!Number.isInteger(n) || n < 2) throw new RangeError(`isolation forest needs at least 2 rows of ${nFeatures} features`);
  const psi = Math.min(p.sampleSize, n);
  const heightLimit = Math.ceil(Math.log2(psi));
  const rng = new Prng(p.seed);
  const trees: IsoNode[][] = [];
  for (let t = 0; t < p.trees; t++) {
    // Subsample without replacement (partial Fisher-Yates).
    const all = Array.from({ length: n }, (_, i) => i);
    for (let i = 0; i < psi; i++) {
      const j = i + Math.floor(rng.next() * (n - i));
      [all[i], all[j]] = [all[j]!, all[i]!];
    }
    trees.push(buildTree(X, nFeatures, all.slice(0, psi), heightLimit, rng, p.rangeMargin));
  }
  return { trees, sampleSize: psi, nFeatures };
}

/** h(x) of one row in one tree: leaf depth + c(leaf size). */
export function pathLength(tree: readonly IsoNode[], X: Float32Array, row: number, nFeatures: number): number {
  let k = 0;
  for (;;) {
    const n = tree[k]!;
    if (n.feature < 0) return n.depth + averagePathLength(n.size);
    k = X[row * nFeatures + n.feature]! < n.threshold ? n.left : n.right;
  }
}

/** Anomaly scores of every row, in 0..1 (float32 steps as in the ONNX graph). */
export function anomalyScores(forest: IsolationForest, X: Float32Array): Float32Array {
  const f = forest.nFeatures;
  const n = X.length / f;
  const out = new Float32Array(n);
  const k = Math.fround(-Math.LN2 / averagePathLength(forest.sampleSize));
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (const tree of forest.trees) s += Math.fround(pathLength(tree, X, r, f));
    out[r] = Math.exp(Math.fround(Math.fround(s / forest.trees.length) * k));
  }
  return out;
}


/** The forest as ONNX: `features` [N, F] -> `score` [N, 1] (see the mapping above). */
export function isolationForestToOnnx(forest: IsolationForest, metadata: Record<string, string> = {}): Uint8Array {
  const ensemble = treeEnsembleRegressor({
    trees: forest.trees, input: 'features', output: 'mean_path', branchMode: 'BRANCH_LT', aggregate: 'AVERAGE',
    leafWeight: (n) => n.depth + averagePathLength(n.size),
  });
  return encodeModel({
    name: 'anomaly_iforest',
    docString: 'Isolation forest: TreeEnsembleRegressor AVERAGE of leaf path lengths, score = exp(-E[h] ln2 / c(psi))',
    inputs: [floatInput('features', forest.nFeatures)],
    outputs: [floatInput('score', 1)],
    initializers: [floatTensor('neg_ln2_over_c', [1], [-Math.LN2 / averagePathLength(forest.sampleSize)])],
    nodes: [ensemble, node('Mul', ['mean_path', 'neg_ln2_over_c'], ['log_score']), node('Exp', ['log_score'], ['score'])],
    metadata: { kind: ANOMALY_MODEL_KIND, sample_size: String(forest.sampleSize), trees: String(forest.trees.length), ...metadata },
  });
}
