/**
 * The one ONNX graph builder of the package (on `onnx-proto`): the generated test models, the benchmark
 * models and the tiny graphs of the session tests are all built with it. It has the layers that
 * transformer and EfficientNet exports are made of, written the way `torch.onnx.export` lays them out, so that generated random-weight models run
 * the same kernels as the real exports. Every layer helper also counts its FLOPs per item
 * (2 × multiply-adds of its convolutions and matrix products) and, for convolutional layers, the
 * activation traffic, so a generated model states its own cost.
 */
import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';

// onnx-proto is CommonJS without named-export hints: take its namespace from the default export.
const { onnx } = onnxProto;

type AttributeProto = OnnxTypes.IAttributeProto;
type TensorProto = OnnxTypes.ITensorProto;
type NodeProto = OnnxTypes.INodeProto;
type ValueInfoProto = OnnxTypes.IValueInfoProto;

/** A dimension: a fixed size, or a named symbolic one (`'batch_size'`). */
export type Dim = number | string;
export type ElemType = 'float32' | 'float16' | 'int64';

/** ONNX's code for each element type (what a `Cast` node's `to` attribute takes). */
export const ELEM_TYPE: Readonly<Record<ElemType, number>> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  float16: onnx.TensorProto.DataType.FLOAT16,
  int64: onnx.TensorProto.DataType.INT64,
};

/** A named attribute value; build with {@link attr}. */
export type AttrValue = Omit<AttributeProto, 'name'>;

/** Attribute constructors, typed so that an int is never sent as a float or the other way round. */
export const attr = {
  int: (i: number): AttrValue => ({ type: onnx.AttributeProto.AttributeType.INT, i }),
  ints: (ints: readonly number[]): AttrValue => ({ type: onnx.AttributeProto.AttributeType.INTS, ints: [...ints] }),
  float: (f: number): AttrValue => ({ type: onnx.AttributeProto.AttributeType.FLOAT, f }),
};

/** How a weight is filled: a constant, or uniform noise with the given standard deviation. */
export type WeightInit = { fill: number } | { std: number };

export interface GraphBuilderOptions {
  /** Seed of the deterministic weight generator (same seed, same bytes). */
  seed?: number;
  /**
   * `false` counts parameters, FLOPs and traffic without allocating any weight: the real-size models can
   * be costed in milliseconds. Such a graph cannot be encoded.
   */
  materialize?: boolean;
}

/** What a graph costs per item, as counted by the layer helpers. */
export interface GraphStats {
  /** Number of weight values (not bytes). */
  params: number;
  /** 2 × multiply-adds of convolutions and matrix products, per item. */
  flops: number;
  /** Activation values read plus written by the convolutional layers, per item (× bytes per value). */
  activationTraffic: number;
}

export interface ModelMetadata {
  producerName: string;
  /** Absent: none is written. */
  producerVersion?: string;
  /** The graph's name (default: `producerName`). */
  graphName?: string;
  docString: string;
  /** Stored in the model's metadata_props (visible in Netron and `session.metadata`). */
  properties?: Record<string, string>;
}

/**
 * mulberry32: a tiny, fast, seedable generator. Weights only need to be deterministic and well spread,
 * not cryptographic, and 300 M of them must be drawn in about a second.
 */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** Collects nodes, weights and graph inputs/outputs in topological order, and encodes the model. */
export class GraphBuilder {
  readonly stats: GraphStats = { params: 0, flops: 0, activationTraffic: 0 };
  private readonly nodes: NodeProto[] = [];
  private readonly initializers: TensorProto[] = [];
  private readonly inputs: ValueInfoProto[] = [];
  private readonly outputs: ValueInfoProto[] = [];
  private readonly names = new Set<string>();
  private readonly random: () => number;
  private readonly materialize: boolean;
  private counter = 0;

  constructor({ seed = 1, materialize = true }: GraphBuilderOptions = {}) {
    this.random = mulberry32(seed);
    this.materialize = materialize;
  }

  private claim(name: string): string {
    if (this.names.has(name)) throw new Error(`bug: value name "${name}" defined twice`);
    this.names.add(name);
    return name;
  }

  private fresh(prefix: string): string {
    let name: string;
    do name = `${prefix}_${this.counter++}`;
    while (this.names.has(name));
    return this.claim(name);
  }

  /** Declares a graph input. */
  input(name: string, type: ElemType, dims: readonly Dim[]): string {
    this.inputs.push(valueInfo(this.claim(name), type, dims));
    return name;
  }

  /**
   * Exposes an existing value as a graph output under `name`: an Identity node renames it, unless it
   * already has that name.
   */
  output(value: string, name: string, type: ElemType, dims: readonly Dim[]): void {
    if (value !== name) this.nodes.push({ opType: 'Identity', input: [value], output: [this.claim(name)], name: `${name}_identity` });
    else if (!this.names.has(name)) throw new Error(`bug: graph output "${name}" is not a value of the graph`);
    this.outputs.push(valueInfo(name, type, dims));
  }

  /**
   * A named tensor of given values (the weights of a closed-form model, axes), counted in
   * {@link GraphStats.params} when float32.
   */
  tensor(name: string, type: Exclude<ElemType, 'float16'>, dims: readonly number[], values: ArrayLike<number>): string {
    if (product(dims) !== values.length) throw new Error(`bug: tensor ${name} of shape [${dims.join(', ')}] given ${values.length} values`);
    if (type === 'float32') this.stats.params += values.length;
    const data = type === 'int64' ? BigInt64Array.from(Array.from(values), (v) => BigInt(v)) : Float32Array.from(values);
    this.initializers.push({
      name: this.claim(name),
      dims: [...dims],
      dataType: ELEM_TYPE[type],
      rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    });
    return name;
  }

  /**
   * Appends one node whose outputs have the given names (for graphs whose value names are part of their
   * contract, like the test models); named `<first output>_<op>` unless `name` is given.
   */
  node(opType: string, inputs: readonly string[], outputs: readonly string[], attributes: Record<string, AttrValue> = {}, name?: string): string[] {
    for (const output of outputs) this.claim(output);
    this.nodes.push({
      opType,
      input: [...inputs],
      output: [...outputs],
      name: name ?? `${outputs[0] ?? opType}_${opType}`,
      attribute: Object.entries(attributes).map(([key, value]) => ({ name: key, ...value })),
    });
    return [...outputs];
  }

  /** A float32 weight, counted in {@link GraphStats.params}. */
  weight(name: string, dims: readonly number[], init: WeightInit): string {
    const size = product(dims);
    this.stats.params += size;
    const tensor: TensorProto = { name: this.claim(name), dims: [...dims], dataType: ELEM_TYPE.float32 };
    if (this.materialize) {
      const data = new Float32Array(size);
      if ('fill' in init) data.fill(init.fill);
      else {
        // Uniform on [-a, a] has standard deviation a / sqrt(3).
        const a = init.std * Math.sqrt(3);
        for (let i = 0; i < size; i++) data[i] = (this.random() * 2 - 1) * a;
      }
      tensor.rawData = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    }
    this.initializers.push(tensor);
    return name;
  }

  /** A small constant (shapes, axes, scalars); not counted as a parameter. */
  constant(type: ElemType, dims: readonly number[], values: readonly number[], prefix = 'const'): string {
    if (product(dims) !== values.length) throw new Error(`bug: constant of shape [${dims.join(', ')}] given ${values.length} values`);
    const data = type === 'int64' ? BigInt64Array.from(values, (v) => BigInt(v)) : Float32Array.from(values);
    const name = this.fresh(prefix);
    this.initializers.push({
      name,
      dims: [...dims],
      dataType: ELEM_TYPE[type],
      rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    });
    return name;
  }

  /** Appends one node with a single output and returns that output's name. */
  op(opType: string, inputs: readonly string[], attributes: Record<string, AttrValue> = {}): string {
    const [out] = this.opN(opType, inputs, 1, attributes);
    if (out === undefined) throw new Error(`bug: ${opType} node made no output`);
    return out;
  }

  /** Appends one node with `outputs` outputs. */
  opN(opType: string, inputs: readonly string[], outputs: number, attributes: Record<string, AttrValue> = {}): string[] {
    const output = Array.from({ length: outputs }, () => this.fresh(opType.toLowerCase()));
    this.nodes.push({
      opType,
      input: [...inputs],
      output,
      name: `${opType}_${this.nodes.length}`,
      attribute: Object.entries(attributes).map(([name, value]) => ({ name, ...value })),
    });
    return output;
  }

  /** Serialises the model (IR 8, default-domain opset 17 unless told otherwise). */
  encode(meta: ModelMetadata, opset = 17): Uint8Array {
    if (!this.materialize) throw new Error('bug: a graph built with materialize: false has no weights to encode');
    const model = onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: opset }],
      producerName: meta.producerName,
      ...(meta.producerVersion !== undefined ? { producerVersion: meta.producerVersion } : {}),
      docString: meta.docString,
      metadataProps: Object.entries(meta.properties ?? {}).map(([key, value]) => ({ key, value })),
      graph: {
        name: meta.graphName ?? meta.producerName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function valueInfo(name: string, type: ElemType, dims: readonly Dim[]): ValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ELEM_TYPE[type],
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Layers. Each takes the builder, the input value and the per-item sizes it needs to count its cost.
// ---------------------------------------------------------------------------------------------------

/** `x · W + b` with W stored [in, out], as torch exports nn.Linear. `rows` = vectors per item. */
export function linear(g: GraphBuilder, x: string, inDim: number, outDim: number, name: string, rows: number, std = 0.02): string {
  const w = g.weight(`${name}.weight`, [inDim, outDim], { std });
  const b = g.weight(`${name}.bias`, [outDim], { fill: 0 });
  g.stats.flops += 2 * rows * inDim * outDim;
  return g.op('Add', [g.op('MatMul', [x, w]), b]);
}

/** LayerNormalization over the last axis (one op from opset 17). */
export function layerNorm(g: GraphBuilder, x: string, dim: number, eps: number, name: string): string {
  const gamma = g.weight(`${name}.weight`, [dim], { fill: 1 });
  const beta = g.weight(`${name}.bias`, [dim], { fill: 0 });
  return g.op('LayerNormalization', [x, gamma, beta], { axis: attr.int(-1), epsilon: attr.float(eps) });
}

/** Exact GELU, `x · ½ · (1 + erf(x / √2))`, in the node order torch exports (onnxruntime fuses it). */
export function gelu(g: GraphBuilder, x: string): string {
  const erf = g.op('Erf', [g.op('Div', [x, g.constant('float32', [], [Math.SQRT2])])]);
  const onePlus = g.op('Add', [erf, g.constant('float32', [], [1])]);
  return g.op('Mul', [g.op('Mul', [x, onePlus]), g.constant('float32', [], [0.5])]);
}

/** SiLU (swish), `x · sigmoid(x)`, as torch exports nn.SiLU. */
export function silu(g: GraphBuilder, x: string): string {
  return g.op('Mul', [x, g.op('Sigmoid', [x])]);
}

export interface AttentionOptions {
  hidden: number;
  heads: number;
  /** Tokens per item (for the FLOP count). */
  tokens: number;
  /** Additive mask broadcastable to [B, heads, L, L] (0 keep, very negative drop), or none. */
  mask?: string;
  name: string;
}

/**
 * Multi-head self-attention in the eager layout of transformers' BERT/ViT exports: separate Q, K, V
 * projections, `softmax(QKᵀ / √d + mask) V`, output projection. Input and output [B, L, hidden].
 */
export function selfAttention(g: GraphBuilder, x: string, { hidden, heads, tokens, mask, name }: AttentionOptions): string {
  const headDim = hidden / heads;
  if (!Number.isInteger(headDim)) throw new Error(`bug: hidden ${hidden} is not divisible by ${heads} heads`);
  const splitShape = g.constant('int64', [4], [0, 0, heads, headDim], 'heads_shape');
  const split = (v: string, perm: number[]) => g.op('Transpose', [g.op('Reshape', [v, splitShape])], { perm: attr.ints(perm) });
  const q = split(linear(g, x, hidden, hidden, `${name}.query`, tokens), [0, 2, 1, 3]);
  const k = split(linear(g, x, hidden, hidden, `${name}.key`, tokens), [0, 2, 3, 1]);
  const v = split(linear(g, x, hidden, hidden, `${name}.value`, tokens), [0, 2, 1, 3]);
  let scores = g.op('Div', [g.op('MatMul', [q, k]), g.constant('float32', [], [Math.sqrt(headDim)])]);
  if (mask !== undefined) scores = g.op('Add', [scores, mask]);
  const probs = g.op('Softmax', [scores], { axis: attr.int(-1) });
  const context = g.op('Transpose', [g.op('MatMul', [probs, v])], { perm: attr.ints([0, 2, 1, 3]) });
  g.stats.flops += 2 * 2 * tokens * tokens * hidden; // QKᵀ and (probs)V
  const merged = g.op('Reshape', [context, g.constant('int64', [3], [0, 0, hidden], 'merge_shape')]);
  return linear(g, merged, hidden, hidden, `${name}.output`, tokens);
}

/** Two-layer GELU MLP of a transformer block. */
export function mlp(g: GraphBuilder, x: string, hidden: number, inner: number, name: string, tokens: number): string {
  return linear(g, gelu(g, linear(g, x, hidden, inner, `${name}.fc1`, tokens)), inner, hidden, `${name}.fc2`, tokens);
}

/** A feature map value with its per-item geometry. */
export interface FeatureMap {
  value: string;
  channels: number;
  height: number;
  width: number;
}

export interface ConvOptions {
  out: number;
  kernel: number;
  stride?: number;
  /** [top, left, bottom, right], as ONNX `pads` orders them for 2-D. */
  pads?: readonly [number, number, number, number] | undefined;
  /** Channel groups; `groups === channels` is a depthwise convolution. */
  groups?: number;
  /** Standard deviation of the weights; defaults to `gain`/√fan-in. */
  std?: number;
  /** Scale of the default standard deviation: 1 keeps a linear layer's output at its input's scale. */
  gain?: number;
  /** Constant every bias starts at (default 0). */
  biasFill?: number;
  name: string;
}

/**
 * 2-D convolution with bias (a BatchNorm folded in, as onnx exports of eval-mode models carry it).
 * Counts FLOPs and the activation values it reads and writes.
 */
export function conv2d(
  g: GraphBuilder,
  x: FeatureMap,
  { out, kernel, stride = 1, pads, groups = 1, std, gain = 1, biasFill = 0, name }: ConvOptions,
): FeatureMap {
  const p = pads ?? samePads(kernel);
  const height = Math.floor((x.height + p[0] + p[2] - kernel) / stride) + 1;
  const width = Math.floor((x.width + p[1] + p[3] - kernel) / stride) + 1;
  const fanIn = (x.channels / groups) * kernel * kernel;
  const w = g.weight(`${name}.weight`, [out, x.channels / groups, kernel, kernel], { std: std ?? gain / Math.sqrt(fanIn) });
  const b = g.weight(`${name}.bias`, [out], { fill: biasFill });
  g.stats.flops += 2 * height * width * out * fanIn;
  g.stats.activationTraffic += x.channels * x.height * x.width + out * height * width;
  const value = g.op('Conv', [x.value, w, b], {
    kernel_shape: attr.ints([kernel, kernel]),
    strides: attr.ints([stride, stride]),
    pads: attr.ints(p),
    group: attr.int(groups),
  });
  return { value, channels: out, height, width };
}

/** Symmetric padding that keeps the size at stride 1 (`padding="same"` for odd kernels). */
export function samePads(kernel: number): [number, number, number, number] {
  const p = Math.floor(kernel / 2);
  return [p, p, p, p];
}

/** Records an elementwise pass over a feature map (a gate multiply, a residual add) in the traffic count. */
export function countElementwise(g: GraphBuilder, x: FeatureMap, reads: number): void {
  g.stats.activationTraffic += (reads + 1) * x.channels * x.height * x.width;
}
