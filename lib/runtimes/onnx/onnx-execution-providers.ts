/**
 * Which onnxruntime execution providers this process can use. onnxruntime-node ships the CPU
 * provider inside its addon; CUDA and TensorRT come as shared libraries that its postinstall
 * downloads, so a build without them is told apart by the missing file — before asking
 * onnxruntime, which would log the failed dlopen as an error.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** Providers modelfleet passes to onnxruntime-node by these names. */
const KNOWN_PROVIDERS = new Set(["cpu", "cuda", "tensorrt", "webgpu", "dml", "coreml"]);

let addonFiles: string[] | undefined;

/** The files next to onnxruntime-node's addon (bin/napi-v6/<platform>/<arch>), read once. */
function filesBesideAddon(): string[] {
	if (addonFiles === undefined) {
		try {
			const packageDir = path.dirname(require.resolve("onnxruntime-node/package.json"));
			addonFiles = fs.readdirSync(
				path.join(packageDir, "bin", "napi-v6", process.platform, process.arch),
			);
		} catch {
			addonFiles = [];
		}
	}
	return addonFiles;
}

/**
 * Why onnxruntime cannot use `provider` in this build, or undefined when it may (loading can
 * still fail, on a machine without the driver).
 * @param supported what onnxruntime-node's listSupportedBackends() says
 */
export function providerUnavailableReason(
	provider: string,
	supported: readonly { name: string; bundled: boolean }[],
): string | undefined {
	if (provider === "cpu") return undefined;
	if (!KNOWN_PROVIDERS.has(provider)) return "onnxruntime-node has no provider of that name";
	const entry = supported.find(backend => backend.name === provider);
	if (entry === undefined) return "this onnxruntime-node build does not support it here";
	if (entry.bundled) return undefined;
	const library = `providers_${provider}`;
	if (!filesBesideAddon().some(file => file.includes(library)))
		return `this onnxruntime-node build lacks its library (${library}; onnxruntime-node's install script downloads it)`;
	return undefined;
}
