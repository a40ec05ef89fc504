import {
	parseFleetCommand,
	parseMemory,
	parsePredictRequest,
	tokenize,
} from "../../../lib/repl/command-line";

const words = (line: string) => tokenize(line).map(t => t.text);

describe("tokenize", () => {
	it("splits on whitespace and unquotes '…', \"…\" and backslash escapes", () => {
		expect(words(`fleet  deploy 'my model' "a \\"b\\"" c\\ d`)).toEqual([
			"fleet",
			"deploy",
			"my model",
			'a "b"',
			"c d",
		]);
	});

	it("remembers where each word starts in the line", () => {
		const [, second] = tokenize("fleet   nodes");
		expect(second).toMatchObject({ text: "nodes", start: 8, end: 13, quoted: false });
	});

	it("refuses an unclosed quote, naming its column", () => {
		expect(() => tokenize("fleet deploy 'mlp")).toThrow(/quote ' opened at column 14/);
	});
});

describe("parseFleetCommand", () => {
	it("reads the commands without options", () => {
		expect(parseFleetCommand("fleet nodes")).toEqual({ kind: "nodes" });
		expect(parseFleetCommand("fleet placements")).toEqual({ kind: "placements" });
		expect(parseFleetCommand("fleet jobs")).toEqual({ kind: "jobs" });
		expect(parseFleetCommand("fleet studies --tenant t")).toEqual({
			kind: "studies",
			tenant: "t",
		});
		expect(parseFleetCommand("fleet")).toEqual({ kind: "help" });
		expect(parseFleetCommand("fleet help")).toEqual({ kind: "help" });
		expect(parseFleetCommand("nodes")).toEqual({ kind: "nodes" });
		expect(parseFleetCommand("fleet login mf_abc")).toEqual({ kind: "login", key: "mf_abc" });
	});

	it("reads optimize and optimizations with model@version, recipe and params", () => {
		expect(parseFleetCommand("fleet optimize digits@0.1.0 int8-dynamic")).toEqual({
			kind: "optimize",
			model: "digits",
			version: "0.1.0",
			recipe: "int8-dynamic",
		});
		expect(
			parseFleetCommand(
				"fleet optimize digits@0.1.0 graph --params '{level: \"all\"}' --tenant t",
			),
		).toEqual({
			kind: "optimize",
			model: "digits",
			version: "0.1.0",
			recipe: "graph",
			params: { level: "all" },
			tenant: "t",
		});
		expect(parseFleetCommand("fleet optimizations digits@0.1.0")).toEqual({
			kind: "optimizations",
			model: "digits",
			version: "0.1.0",
		});
		expect(() => parseFleetCommand("fleet optimize digits int8-dynamic")).toThrow(
			/not <model>@<version>/,
		);
		expect(() => parseFleetCommand("fleet optimize digits@1 fp16 --params [1]")).toThrow(
			/--params must be a JSON object/,
		);
	});

	it("reads optimize's evaluation dataset, label column and features as the REST body names them", () => {
		expect(
			parseFleetCommand(
				"fleet optimize iris@1.0.0 convert --dataset iris@1 --label-column label --features sepal_length,sepal_width",
			),
		).toEqual({
			kind: "optimize",
			model: "iris",
			version: "1.0.0",
			recipe: "convert",
			dataset: "iris@1",
			labelColumn: "label",
			features: ["sepal_length", "sepal_width"],
		});
		expect(
			parseFleetCommand(
				`fleet optimize iris@1.0.0 fp16 --features '["a,1", "b"]' --dataset=iris --tenant t`,
			),
		).toEqual({
			kind: "optimize",
			model: "iris",
			version: "1.0.0",
			recipe: "fp16",
			dataset: "iris",
			features: ["a,1", "b"],
			tenant: "t",
		});
		expect(() => parseFleetCommand("fleet optimize iris@1 fp16 --dataset")).toThrow(
			/--dataset needs a value; usage: fleet optimize .*\[--dataset d\]/,
		);
		expect(() => parseFleetCommand("fleet optimize iris@1 fp16 --features a,,b")).toThrow(
			/--features must name one column or more, none empty/,
		);
		expect(() => parseFleetCommand("fleet optimize iris@1 fp16 --features '[1, 2]'")).toThrow(
			/--features must name one column or more/,
		);
		expect(() => parseFleetCommand("fleet optimize iris@1 fp16 --features '[a'")).toThrow(
			/--features is not a valid JSON array/,
		);
	});

	it("reads forget with the node to forget", () => {
		expect(parseFleetCommand("fleet forget worker-1")).toEqual({
			kind: "forget",
			node: "worker-1",
		});
		expect(() => parseFleetCommand("fleet forget")).toThrow(
			"missing <node>; usage: fleet forget <node>",
		);
		expect(() => parseFleetCommand("fleet forget a b")).toThrow("unexpected 'b'");
	});

	it("reads deploy with a version, replicas, a GPU and memory in any order", () => {
		expect(
			parseFleetCommand("fleet deploy --gpu mlp@1.2.0 --memory 1GiB --replicas=3"),
		).toEqual({
			kind: "deploy",
			model: "mlp@1.2.0",
			gpu: true,
			replicas: 3,
			memoryBytes: 1024 ** 3,
		});
		expect(parseFleetCommand("fleet deploy mlp")).toEqual({
			kind: "deploy",
			model: "mlp",
			gpu: false,
		});
	});

	it("reads --tenant on tenant-scoped commands", () => {
		expect(parseFleetCommand("fleet models --tenant acme")).toEqual({
			kind: "models",
			tenant: "acme",
		});
		expect(parseFleetCommand("fleet scale mlp 4 --tenant=acme")).toEqual({
			kind: "scale",
			model: "mlp",
			replicas: 4,
			tenant: "acme",
		});
		expect(parseFleetCommand("fleet undeploy mlp --tenant acme")).toEqual({
			kind: "undeploy",
			model: "mlp",
			tenant: "acme",
		});
	});

	it("says what is wrong with a command, with its usage", () => {
		expect(() => parseFleetCommand("fleet scale mlp")).toThrow(
			"missing <replicas>; usage: fleet scale <model> <replicas> [--tenant t]",
		);
		expect(() => parseFleetCommand("fleet scale mlp two")).toThrow(
			"The replica count must be a whole number (0 or more), not 'two'.",
		);
		expect(() => parseFleetCommand("fleet deploy mlp --replicas")).toThrow(
			/^--replicas needs a value; usage: fleet deploy/,
		);
		expect(() => parseFleetCommand("fleet deploy mlp --gpus 1")).toThrow(
			/^unknown option --gpus; usage/,
		);
		expect(() => parseFleetCommand("fleet deploy mlp --gpu=yes")).toThrow(
			/--gpu takes no value/,
		);
		expect(() => parseFleetCommand("fleet nodes extra")).toThrow(/unexpected 'extra'/);
		expect(() => parseFleetCommand("fleet nodes --tenant acme")).toThrow(
			/unknown option --tenant; usage: fleet nodes$/,
		);
		expect(() => parseFleetCommand("fleet deploi mlp")).toThrow(
			/^Unknown command 'fleet deploi'; the commands are: login, whoami, nodes/,
		);
	});

	it("takes the rest of a predict line as the request, quoted or not", () => {
		const expected = {
			kind: "predict",
			model: "mlp",
			request: { instances: [[1, 2, 3, 4]] },
		};
		expect(parseFleetCommand('fleet predict mlp {"instances": [[1, 2, 3, 4]]}')).toEqual(
			expected,
		);
		expect(parseFleetCommand(`fleet predict mlp '{"instances": [[1, 2, 3, 4]]}'`)).toEqual(
			expected,
		);
		expect(parseFleetCommand("fleet predict mlp {instances: [[1, 2, 3, 4]]}")).toEqual(
			expected,
		);
	});

	it("keeps spaces inside a request's strings exactly", () => {
		const command = parseFleetCommand(
			'fleet predict m {"instances": [{"city": "New  York"}], "id": "a b"}',
		);
		expect(command).toMatchObject({
			request: { instances: [{ city: "New  York" }], id: "a b" },
		});
	});

	it("takes --tenant before or after a predict request", () => {
		expect(
			parseFleetCommand('fleet predict mlp@2.0.0 --tenant acme {"instances": [[1]]}'),
		).toEqual({
			kind: "predict",
			model: "mlp@2.0.0",
			tenant: "acme",
			request: { instances: [[1]] },
		});
		expect(parseFleetCommand('fleet predict mlp {"instances": [[1]]} --tenant acme')).toEqual({
			kind: "predict",
			model: "mlp",
			tenant: "acme",
			request: { instances: [[1]] },
		});
	});

	it("refuses a predict without a request or with a broken one", () => {
		expect(() => parseFleetCommand("fleet predict mlp")).toThrow(/missing <json> request/);
		expect(() => parseFleetCommand("fleet predict")).toThrow(/missing <model>/);
		expect(() => parseFleetCommand("fleet predict mlp {bad")).toThrow(
			/^The request is not valid JSON/,
		);
	});
});

describe("parsePredictRequest", () => {
	it("accepts Open Inference Protocol inputs", () => {
		const body = { inputs: [{ name: "x", datatype: "FP32", shape: [1, 1], data: [1] }] };
		expect(parsePredictRequest(JSON.stringify(body))).toEqual(body);
	});

	it("leaves text inside strings alone when quoting bare keys", () => {
		expect(parsePredictRequest('{instances: [{"a:b": "c, d: e"}]}')).toEqual({
			instances: [{ "a:b": "c, d: e" }],
		});
	});

	it("refuses anything but an object with inputs or instances", () => {
		expect(() => parsePredictRequest("[1, 2]")).toThrow(/must be a JSON object/);
		expect(() => parsePredictRequest('{"rows": []}')).toThrow(
			/neither "inputs" .* nor "instances"/,
		);
	});
});

describe("parseMemory", () => {
	it("reads bytes and units, and refuses the rest", () => {
		expect(parseMemory("1073741824")).toBe(1024 ** 3);
		expect(parseMemory("512MiB")).toBe(512 * 1024 ** 2);
		expect(() => parseMemory("lots")).toThrow("--memory must be a size such as");
		expect(() => parseMemory("0")).toThrow("--memory must be a size such as");
	});
});
