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

/** ai.onnx.ml TreeEnsembleRegressor for a GBDT: one target, SUM of the trees plus baseScore. */
export function treeEnsembleNode(model: GbdtModel, input: string, output: string): onnx.INodeProto {
  const treeIds: number[] = [];
  const nodeIds: number[] = [];
  const featureIds: number[] = [];
  const values: number[] = [];
  const modes: string[] = [];
  const trueIds: number[] = [];
  const falseIds: number[] = [];
  const tTree: number[] = [];
  const tNode: number[] = [];
  const tId: number[] = [];
  const tWeight: number[] = [];
  model.trees.forEach((tree, t) => {
    tree.nodes.forEach((n, i) => {
      treeIds.push(t);
      nodeIds.push(i);
      const leaf = n.feature < 0;
      featureIds.push(leaf ? 0 : n.feature);
      values.push(leaf ? 0 : n.threshold);
      modes.push(leaf ? 'LEAF' : 'BRANCH_LEQ');
      trueIds.push(leaf ? 0 : n.left);
      falseIds.push(leaf ? 0 : n.right);
      if (leaf) {
        tTree.push(t);
        tNode.push(i);
        tId.push(0);
        tWeight.push(n.value);
      }
    });
  });
  return node(
    'TreeEnsembleRegressor',
    [input],
    [output],
    [
      attrInt('n_targets', 1),
      attrString('aggregate_function', 'SUM'),
      attrString('post_transform', 'NONE'),
      attrFloats('base_values', [model.baseScore]),
      attrInts('nodes_treeids', treeIds),
      attrInts('nodes_nodeids', nodeIds),
      attrInts('nodes_featureids', featureIds),
      attrFloats('nodes_values', values),
      attrStrings('nodes_modes', modes),
      attrInts('nodes_truenodeids', trueIds),
      attrInts('nodes_falsenodeids', falseIds),
      attrInts('target_treeids', tTree),
      attrInts('target_nodeids', tNode),
      attrInts('target_ids', tId),
      attrFloats('target_weights', tWeight),
    ],
    'ai.onnx.ml',
  );
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

/** The metadata_props of a serialised model. */
export function readMetadata(bytes: Uint8Array): Record<string, string> {
  const m = onnx.ModelProto.decode(bytes);
  const out: Record<string, string> = {};
  for (const p of m.metadataProps) if (p.key) out[p.key] = p.value ?? '';
  return out;
}
