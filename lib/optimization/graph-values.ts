/**
 * What the transforms ask of a read ONNX graph: its initializers by name, who consumes and who
 * produces a value, which values are floating point, and names that are not taken yet.
 */
import type { ReadOnnxModel } from "../onnx/onnx-reader";
import type { OnnxNode, OnnxTensor } from "../onnx/onnx-writer";

type Graph = ReadOnnxModel["graph"];

/** Ops whose outputs are never floating point whatever their inputs (indices, shapes, masks). */
const NON_FLOAT_OUTPUT_OPS = new Set([
	"Shape",
	"Size",
	"ArgMax",
	"ArgMin",
	"NonZero",
	"Equal",
	"Greater",
	"Less",
	"GreaterOrEqual",
	"LessOrEqual",
	"Not",
	"And",
	"Or",
	"Xor",
	"IsNaN",
	"IsInf",
]);

export class GraphValues {
	readonly initializers: Map<string, OnnxTensor>;
	private readonly taken: Set<string>;

	constructor(private readonly graph: Graph) {
		this.initializers = new Map(graph.initializers.map(t => [t.name, t]));
		this.taken = new Set([
			...graph.initializers.map(t => t.name),
			...graph.inputs.map(i => i.name),
			...graph.nodes.flatMap(n => [...n.inputs, ...n.outputs, n.name ?? ""]),
		]);
	}

	/** `base`, or `base_1`, `base_2` … whichever is not a value or node name yet; reserved. */
	fresh(base: string): string {
		let name = base;
		for (let i = 1; this.taken.has(name); i++) name = `${base}_${i}`;
		this.taken.add(name);
		return name;
	}

	/** A float32 initializer of that name, or undefined. */
	floatInitializer(name: string): (OnnxTensor & { data: Float32Array }) | undefined {
		const tensor = this.initializers.get(name);
		return tensor?.data instanceof Float32Array
			? (tensor as OnnxTensor & { data: Float32Array })
			: undefined;
	}

	/** How many node inputs read each value. */
	consumerCounts(): Map<string, number> {
		const counts = new Map<string, number>();
		for (const node of this.graph.nodes)
			for (const input of node.inputs) counts.set(input, (counts.get(input) ?? 0) + 1);
		return counts;
	}

	/**
	 * The float32 values of the graph: FP32 inputs and initializers, and the outputs of nodes
	 * that read one (except ops that make indices or masks, and Casts to another type). A
	 * heuristic without full type inference, right for the feed-forward graphs modelfleet makes.
	 */
	floatValues(): Set<string> {
		const floats = new Set<string>([
			...this.graph.inputs.filter(i => i.datatype === "FP32").map(i => i.name),
			...this.graph.initializers.filter(t => t.data instanceof Float32Array).map(t => t.name),
		]);
		for (const node of this.graph.nodes) {
			if (!producesFloat(node, floats)) continue;
			for (const output of node.outputs) floats.add(output);
		}
		return floats;
	}
}

function producesFloat(node: OnnxNode, floats: ReadonlySet<string>): boolean {
	if (node.opType === "Cast") {
		const to = node.attributes?.to;
		return to?.type === "int" && Number(to.value) === 1;
	}
	if (node.opType === "Constant") {
		const value = node.attributes?.value;
		return value?.type === "tensor" && value.value.data instanceof Float32Array;
	}
	if (NON_FLOAT_OUTPUT_OPS.has(node.opType) || (node.domain ?? "") !== "") return false;
	return node.inputs.some(input => floats.has(input));
}
