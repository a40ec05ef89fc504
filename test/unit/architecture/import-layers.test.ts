/**
 * The layers of lib/, lowest first: a module (a lib folder, or a file at lib's top) may import
 * only modules of the layers below its own, and only those its row names. Type-only imports
 * count too: a type is a dependency on whoever owns it. lib/ never imports services/ or nodes/.
 */
import { importsOf, libModuleOf, tsFilesUnder, type SourceImport } from "./source-imports";

interface Layer {
	/** What the layer is for, and what it must stay free of. */
	about: string;
	/** Each module of the layer with the lower modules it may import. */
	modules: Record<string, readonly string[]>;
}

const LAYERS: readonly Layer[] = [
	{
		about:
			"Foundations: the error catalogue, the build version, readiness, the process's V8 " +
			"tuning and how its worker threads' scripts run. Import nothing of lib.",
		modules: { errors: [], version: [], health: [], process: [] },
	},
	{
		about:
			"Policies and contracts every layer shares: how client JSON is decoded, how settings are " +
			"read (env values, byte sizes, TLS and NATS files), how parameters are checked (an " +
			"optional null is absent), the model contract (schema, pipelines, " +
			"version spec), and reading stored files (tar archives within limits, parser errors as " +
			"client-safe reasons), observability (trace context, request ids, log fields, the " +
			"OpenTelemetry exporter). Pure: no database, no broker.",
		modules: {
			"json-policy": ["errors"],
			settings: ["errors"],
			validation: [],
			"model-spec": ["errors"],
			files: ["errors"],
			observability: ["version"],
		},
	},
	{
		about:
			"Formats and primitives: ONNX protobuf, the metadata database (connection, schema, " +
			"migrations), a node's capacity, OIP tensors, tabular datasets.",
		modules: {
			onnx: ["model-spec"],
			db: ["errors", "settings"],
			capacity: ["settings"],
			inference: ["errors", "model-spec"],
			datasets: ["errors", "json-policy", "files"],
		},
	},
	{
		about:
			"Building blocks: fleet plumbing (NATS, node roles, inventory), a node's Prometheus " +
			"registry, the audit log (written " +
			"inside each owner's transaction), request batching, pre/post-processing pipelines, " +
			"monitoring (payload capture, drift and live-accuracy statistics, their stores).",
		modules: {
			fleet: ["errors", "json-policy", "capacity", "settings"],
			metrics: ["capacity"],
			audit: ["db"],
			batching: ["errors", "inference"],
			pipelines: ["errors", "inference", "model-spec"],
			monitoring: ["errors", "db", "datasets", "inference", "model-spec"],
		},
	},
	{
		about:
			"Tenancy, blobs and model execution: accounts (tenants, keys, roles), metering (usage " +
			"counters and their flushes) and quotas (limits and the pure decisions), the artifact " +
			"store, the runtimes that run a model file (ONNX, TF.js, XGBoost) and their thread pool.",
		modules: {
			accounts: ["errors", "settings", "audit", "db"],
			metering: ["errors", "db", "inference"],
			quotas: ["errors", "audit", "db"],
			artifacts: ["errors", "db"],
			runtimes: [
				"errors",
				"process",
				"json-policy",
				"batching",
				"files",
				"inference",
				"onnx",
				"model-spec",
			],
		},
	},
	{
		about:
			"Model lifecycle: the registry's stores, the importers that read an uploaded model file " +
			"(on top of the runtimes), training, the model cache of loaded runtimes. The registry and " +
			"the importers do not know each other: the registry service hands importModelFile in.",
		modules: {
			registry: ["errors", "accounts", "audit", "db", "model-spec"],
			importers: ["errors", "json-policy", "onnx", "model-spec", "runtimes", "files"],
			training: [
				"errors",
				"process",
				"validation",
				"datasets",
				"metrics",
				"runtimes",
				"inference",
				"onnx",
				"model-spec",
			],
			cache: ["errors", "runtimes"],
		},
	},
	{
		about:
			"Model optimization: recipes that turn a version's file into an optimized one (graph " +
			"optimization, FP16, INT8 quantization, pruning, conversion) with the project's ONNX " +
			"reader/writer, and the evaluation that judges the result against its source.",
		modules: {
			optimization: [
				"errors",
				"datasets",
				"files",
				"inference",
				"model-spec",
				"onnx",
				"pipelines",
				"runtimes",
				"training",
			],
		},
	},
	{
		about:
			"Serving on a worker: the predictor (cache, batching, pipelines, runtimes); it knows the " +
			"registry's version view, not HTTP.",
		modules: {
			predictor: [
				"errors",
				"batching",
				"metrics",
				"cache",
				"files",
				"inference",
				"pipelines",
				"runtimes",
				"model-spec",
				"registry",
			],
		},
	},
	{
		about:
			"Explaining predictions where a version is served: TreeSHAP over the XGBoost model the " +
			"runtime reads, KernelSHAP through the predictor's served model; permutation importance " +
			"of a trained network (on the trainer) or of a served version.",
		modules: {
			explain: [
				"errors",
				"cache",
				"datasets",
				"inference",
				"predictor",
				"registry",
				"runtimes",
				"training",
			],
		},
	},
	{
		about: "Routing a call to a replica: traffic splits, shadows, replica choice, the routing table.",
		modules: {
			routing: [
				"errors",
				"accounts",
				"fleet",
				"metrics",
				"predictor",
				"registry",
				"model-spec",
			],
		},
	},
	{
		about:
			"The scheduler: deployments and their placement, autoscaling, the training queue. It " +
			"reaches registry and accounts data through their actions (ports), not their tables.",
		modules: {
			scheduler: [
				"errors",
				"accounts",
				"batching",
				"datasets",
				"db",
				"fleet",
				"model-spec",
				"monitoring",
				"registry",
				"metrics",
				"routing",
				"training",
				"optimization",
			],
		},
	},
	{
		about:
			"Hyperparameter studies over the training queue: the search space, the searchers " +
			"(random, grid, ASHA, TPE) as pure functions, the study plan, the study store, and runs " +
			"(training jobs as comparable experiment runs). It knows the job store's views, not its table.",
		modules: {
			studies: [
				"errors",
				"validation",
				"accounts",
				"datasets",
				"db",
				"registry",
				"scheduler",
				"training",
			],
		},
	},
	{
		about:
			"What gathers everything: the event catalogue (names and payloads of every domain event) " +
			"and a node's whole configuration.",
		modules: {
			events: [
				"fleet",
				"model-spec",
				"monitoring",
				"quotas",
				"registry",
				"routing",
				"scheduler",
			],
			config: [
				"errors",
				"json-policy",
				"settings",
				"artifacts",
				"capacity",
				"db",
				"fleet",
				"observability",
			],
		},
	},
	{
		about:
			"Durable domain events: the CloudEvents envelope of each event, the event log (database " +
			"or NATS JetStream), webhook endpoints, the delivery outbox and its signed sender.",
		modules: {
			"domain-events": ["errors", "db", "events"],
		},
	},
	{
		about:
			"Edges: the HTTP gateway's pieces, the operator REPL and the REST client (which stands " +
			"alone: it only speaks HTTP). Nothing in lib imports them.",
		modules: {
			client: [],
			http: [
				"errors",
				"json-policy",
				"accounts",
				"artifacts",
				"batching",
				"cache",
				"datasets",
				"domain-events",
				"fleet",
				"inference",
				"model-spec",
				"observability",
				"predictor",
				"quotas",
				"registry",
				"routing",
				"scheduler",
			],
			repl: [
				"errors",
				"accounts",
				"settings",
				"fleet",
				"model-spec",
				"monitoring",
				"registry",
				"routing",
				"scheduler",
				"optimization",
			],
		},
	},
	{
		about:
			"The gRPC edge: the KServe v2 / Triton protocol's messages in the HTTP edge's terms (its " +
			"OIP decoding, error table), so both protocols share one implementation.",
		modules: {
			grpc: ["errors", "http", "inference"],
		},
	},
];

const LIB_FILES = tsFilesUnder("lib");
const IMPORTS: SourceImport[] = LIB_FILES.flatMap(importsOf);
const LAYER_OF = new Map<string, number>();
LAYERS.forEach((layer, index) => {
	for (const name of Object.keys(layer.modules)) LAYER_OF.set(name, index);
});
const ALLOWED = new Map<string, ReadonlySet<string>>(
	LAYERS.flatMap(layer => Object.entries(layer.modules)).map(([name, may]) => [
		name,
		new Set(may),
	]),
);

/** Imports from one lib module to another, as "from → to: file → file". */
function crossModuleImports(): Array<{ from: string; to: string; line: string }> {
	const found: Array<{ from: string; to: string; line: string }> = [];
	for (const imp of IMPORTS) {
		if (imp.to === null) continue;
		const from = libModuleOf(imp.from)!;
		const to = libModuleOf(imp.to);
		if (to === null || to === from) continue;
		found.push({ from, to, line: `${imp.from} → ${imp.to}` });
	}
	return found;
}

describe("lib/ layers", () => {
	it("names every lib module once, and each row points only at lower layers", () => {
		const modules = [...new Set(LIB_FILES.map(f => libModuleOf(f)!))].sort();
		expect([...LAYER_OF.keys()].sort()).toEqual(modules);
		const upward = LAYERS.flatMap((layer, index) =>
			Object.entries(layer.modules).flatMap(([name, may]) =>
				may
					.filter(other => !(LAYER_OF.has(other) && LAYER_OF.get(other)! < index))
					.map(other => `${name} → ${other}`),
			),
		);
		expect(upward).toEqual([]);
	});

	it("imports only what the layer table allows", () => {
		const refused = crossModuleImports()
			.filter(({ from, to }) => !ALLOWED.get(from)?.has(to))
			.map(({ from, to, line }) => `${from} may not import ${to}: ${line}`);
		expect(refused).toEqual([]);
	});

	it("has no import cycles between lib modules", () => {
		const edges = new Map<string, Set<string>>();
		for (const { from, to } of crossModuleImports()) {
			if (!edges.has(from)) edges.set(from, new Set());
			edges.get(from)!.add(to);
		}
		const cycles: string[] = [];
		const state = new Map<string, "open" | "done">();
		const stack: string[] = [];
		const visit = (name: string): void => {
			state.set(name, "open");
			stack.push(name);
			for (const next of edges.get(name) ?? []) {
				if (state.get(next) === "open") {
					cycles.push([...stack.slice(stack.indexOf(next)), next].join(" → "));
				} else if (!state.has(next)) visit(next);
			}
			stack.pop();
			state.set(name, "done");
		};
		for (const name of [...edges.keys()].sort()) if (!state.has(name)) visit(name);
		expect(cycles).toEqual([]);
	});

	it("never imports services/, nodes/ or test/", () => {
		const outside = IMPORTS.filter(imp => imp.to !== null && !imp.to.startsWith("lib/")).map(
			imp => `${imp.from} → ${imp.specifier}`,
		);
		expect(outside).toEqual([]);
	});

	it("never imports mixins/ (services' shared parts sit above lib)", () => {
		const upward = IMPORTS.filter(imp => imp.to?.startsWith("mixins/")).map(
			imp => `${imp.from} → ${imp.specifier}`,
		);
		expect(upward).toEqual([]);
	});
});

describe("mixins/", () => {
	it("imports lib/ and other mixins, never services/, nodes/ or test/", () => {
		const files = tsFilesUnder("mixins");
		expect(files.length).toBeGreaterThan(0);
		const upward = files
			.flatMap(importsOf)
			.filter(imp => imp.to !== null && !/^(lib|mixins)\//.test(imp.to))
			.map(imp => `${imp.from} → ${imp.specifier}`);
		expect(upward).toEqual([]);
	});
});
