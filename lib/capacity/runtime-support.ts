import * as path from "node:path";

/** The runtimes a node can execute models with, by the formats they serve. */
export type RuntimeName = "onnx" | "tfjs" | "xgboost";

/** One runtime a node can execute, with the execution providers it has for it, best last. */
export interface RuntimeSupport {
	name: RuntimeName;
	/** onnx: "cpu", "cuda"; tfjs: "wasm", "tensorflow" (tfjs-node), "cuda" (tfjs-node-gpu); xgboost: "js". */
	executionProviders: string[];
	/** The version of the package that runs it, or null for code of our own. */
	version: string | null;
}

/** The probes runtime detection needs; production uses require.resolve and the file system. */
export interface RuntimeProbe {
	/** The path of a package's package.json, or null when it is not installed. */
	packageJsonPath(name: string): string | null;
	readVersion(packageJsonPath: string): string | null;
	fileExists(file: string): boolean;
}

/**
 * onnxruntime-node ships its CPU build; the CUDA provider library is there only when the
 * package was installed with ONNXRUNTIME_NODE_INSTALL=cuda12 on a GPU host.
 */
const ONNX_CUDA_PROVIDER = path.join(
	"bin",
	"napi-v6",
	process.platform,
	process.arch,
	"libonnxruntime_providers_cuda.so",
);

/**
 * Says which runtimes this node can execute and through which providers. GPU providers are
 * listed only when the node has a GPU to run them on.
 */
export function detectRuntimes(probe: RuntimeProbe, hasGpu: boolean): RuntimeSupport[] {
	const runtimes: RuntimeSupport[] = [];

	const onnx = probe.packageJsonPath("onnxruntime-node");
	if (onnx !== null) {
		const providers = ["cpu"];
		if (hasGpu && probe.fileExists(path.join(path.dirname(onnx), ONNX_CUDA_PROVIDER))) {
			providers.push("cuda");
		}
		runtimes.push({
			name: "onnx",
			executionProviders: providers,
			version: probe.readVersion(onnx),
		});
	}

	const tfjs = probe.packageJsonPath("@tensorflow/tfjs-core");
	if (tfjs !== null) {
		const providers: string[] = [];
		if (probe.packageJsonPath("@tensorflow/tfjs-backend-wasm") !== null) providers.push("wasm");
		if (probe.packageJsonPath("@tensorflow/tfjs-node") !== null) providers.push("tensorflow");
		if (hasGpu && probe.packageJsonPath("@tensorflow/tfjs-node-gpu") !== null)
			providers.push("cuda");
		if (providers.length > 0) {
			runtimes.push({
				name: "tfjs",
				executionProviders: providers,
				version: probe.readVersion(tfjs),
			});
		}
	}

	// XGBoost JSON models are walked by our own TypeScript code: every node can run them.
	runtimes.push({ name: "xgboost", executionProviders: ["js"], version: null });
	return runtimes;
}
