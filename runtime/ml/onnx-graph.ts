// Small builders for ONNX graphs with onnx-proto (ONNX IR 8, opset 13 + ai.onnx.ml 1). The tree
// ensemble attributes follow the ai.onnx.ml TreeEnsembleRegressor spec
// (onnx/docs/Operators-ml.md): parallel arrays over all nodes of all trees, leaves in target_*.
import { onnx } from 'onnx-proto';
import type { GbdtModel } from './gbdt';

const A = onnx.AttributeProto.AttributeType;
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

export function attrInt(name: string, i: number): onnx.IAttributeProto {
  return { name, type: A.INT, i };
}
export function attrInts(name: string, ints: number[]): onnx.IAttributeProto {
  return { name, type: A.INTS, ints };
}
export function attrFloats(name: string, floats: number[]): onnx.IAttributeProto {
  return { name, type: A.FLOATS, floats };
}
export function attrString(name: string, s: string): onnx.IAttributeProto {
  return { name, type: A.STRING, s: utf8(s) };
}
export function attrStrings(name: string, strings: string[]): onnx.IAttributeProto {
  return { name, type: A.STRINGS, strings: strings.map(utf8) };
}

export function floatTensor(name: string, dims: number[], values: ArrayLike<number>): onnx.ITensorProto {
  return { name, dims, dataType: onnx.TensorProto.DataType.FLOAT, floatData: Array.from(values, (v) => Math.fround(v)) };
}
export function int64Tensor(name: string, dims: number[], values: number[]): onnx.ITensorProto {
  return { name, dims, dataType: onnx.TensorProto.DataType.INT64, int64Data: values };
}

/** A float tensor value info with a symbolic batch dimension N. */
export function floatInput(name: string, cols: number): onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimParam: 'N' }, { dimValue: cols }] } } },
  };
}

export function node(opType: string, inputs: string[], outputs: string[], attribute: onnx.IAttributeProto[] = [], domain = ''): onnx.INodeProto {
  return { opType, input: inputs, output: outputs, name: outputs[0] ?? opType, attribute, domain };
}

/** One node of a tree stored flat: a branch (feature >= 0, children by index) or a leaf. */
export interface FlatTreeNode {
  feature: number;
  threshold: number;
  left: number;
  right: number;
}

export interface TreeEnsembleSpec<N extends FlatTreeNode> {
  trees: readonly (readonly N[])[];
  input: string;
  output: string;
  /** How a branch compares its feature with its threshold to go left. */
  branchMode: 'BRANCH_LEQ' | 'BRANCH_LT';
  aggregate: 'SUM' | 'AVERAGE';
  /** What a leaf contributes. */
  leafWeight: (leaf: N) => number;
  baseValue?: number;
}

/** ai.onnx.ml TreeEnsembleRegressor with one target over trees stored as flat node lists. */
export function treeEnsembleRegressor<N extends FlatTreeNode>(spec: TreeEnsembleSpec<N>): onnx.INodeProto {
  const a = { treeIds: [] as number[], nodeIds: [] as number[], featureIds: [] as number[], values: [] as number[], modes: [] as string[], trueIds: [] as number[], falseIds: [] as number[] };
  const t = { treeIds: [] as number[], nodeIds: [] as number[], ids: [] as number[], weights: [] as number[] };
  spec.trees.forEach((tree, ti) => {
    tree.forEach((n, i) => {
      const leaf = n.feature < 0;
      a.treeIds.push(ti);
      a.nodeIds.push(i);
      a.featureIds.push(leaf ? 0 : n.feature);
      a.values.push(leaf ? 0 : n.threshold);
      a.modes.push(leaf ? 'LEAF' : spec.branchMode);
      a.trueIds.push(leaf ? 0 : n.left);
      a.falseIds.push(leaf ? 0 : n.right);
      if (leaf) {
        t.treeIds.push(ti);
        t.nodeIds.push(i);
        t.ids.push(0);
        t.weights.push(spec.leafWeight(n));
      }
    });
  });
  return node(
    'TreeEnsembleRegressor',
    [spec.input],
    [spec.output],
    [
      attrInt('n_targets', 1),
      attrString('aggregate_function', spec.aggregate),
      attrString('post_transform', 'NONE'),
      ...(spec.baseValue !== undefined ? [attrFloats('base_values', [spec.baseValue])] : []),
      attrInts('nodes_treeids', a.treeIds),
      attrInts('nodes_nodeids', a.nodeIds),
      attrInts('nodes_featureids', a.featureIds),
      attrFloats('nodes_values', a.values),
      attrStrings('nodes_modes', a.modes),
      attrInts('nodes_truenodeids', a.trueIds),
      attrInts('nodes_falsenodeids', a.falseIds),
      attrInts('target_treeids', t.treeIds),
      attrInts('target_nodeids', t.nodeIds),
      attrInts('target_ids', t.ids),
      attrFloats('target_weights', t.weights),
    ],
    'ai.onnx.ml',
  );
}

/** ai.onnx.ml TreeEnsembleRegressor for a GBDT: one target, SUM of the trees plus baseScore. */
export function treeEnsembleNode(model: GbdtModel, input: string, output: string): onnx.INodeProto {
  return treeEnsembleRegressor({
    trees: model.trees.map((tree) => tree.nodes), input, output, branchMode: 'BRANCH_LEQ', aggregate: 'SUM', leafWeight: (n) => n.value, baseValue: model.baseScore,
  });
}

export interface GraphSpec {
  name: string;
  nodes: onnx.INodeProto[];
  initializers: onnx.ITensorProto[];
  inputs: onnx.IValueInfoProto[];
  outputs: onnx.IValueInfoProto[];
  metadata: Record<string, string>;
  docString?: string;
}

/** Serialises a model (IR 8, opsets: default 13, ai.onnx.ml 1). */
export function encodeModel(spec: GraphSpec): Uint8Array {
  const model: onnx.IModelProto = {
    irVersion: 8,
    producerName: 'lifo4-ems',
    producerVersion: '1',
    docString: spec.docString ?? '',
    opsetImport: [
      { domain: '', version: 13 },
      { domain: 'ai.onnx.ml', version: 1 },
    ],
    metadataProps: Object.entries(spec.metadata).map(([key, value]) => ({ key, value })),
    graph: { name: spec.name, node: spec.nodes, initializer: spec.initializers, input: spec.inputs, output: spec.outputs },
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}
