/**
 * Picks the TF.js backend a training run uses and says what it is. "auto" prefers native
 * TensorFlow (tfjs-node-gpu when a GPU is asked for, then tfjs-node) when those packages are
 * installed, else WebAssembly, else the pure-JS cpu backend. The native packages are optional:
 * they are imported by a name the bundler and type checker do not see, only when present.
 */
import type { TfModule } from "../runtimes/tfjs/load-tfjs";
import type { BackendInfo, BackendPreference } from "./training-types";

/** Imports a package that may not be installed; null when it is not (or cannot load here). */
async function optionalImport(name: string): Promise<boolean> {
	try {
		await import(name);
		return true;
	} catch {
		return false;
	}
}

async function tryNative(tf: TfModule, gpu: boolean): Promise<BackendInfo | null> {
	const name = gpu ? "@tensorflow/tfjs-node-gpu" : "@tensorflow/tfjs-node";
	if (!(await optionalImport(name))) return null;
	if (!(await tf.setBackend("tensorflow"))) return null;
	return {
		name: "tensorflow",
		device: gpu ? "gpu" : "cpu",
		detail: `native TensorFlow (${name})`,
	};
}

async function tryWasm(tf: TfModule): Promise<BackendInfo | null> {
	await import("@tensorflow/tfjs-backend-wasm");
	if (!(await tf.setBackend("wasm"))) return null;
	await tf.ready();
	const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
	const threads = await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT");
	return {
		name: "wasm",
		device: "cpu",
		detail: `WebAssembly${simd ? ", SIMD" : ""}${threads ? ", threads" : ", 1 thread"}`,
	};
}

async function useCpu(tf: TfModule): Promise<BackendInfo> {
	// Else the cpu backend prints a banner urging tfjs-node on first use; "auto" already takes
	// tfjs-node when installed. PROD silences TF.js warnings only (this thread's copy of TF.js).
	tf.env().set("PROD", true);
	await tf.setBackend("cpu");
	await tf.ready();
	return { name: "cpu", device: "cpu", detail: "JavaScript (tfjs-backend-cpu)" };
}

/** Loads TF.js into this thread and sets the backend; throws when an explicit one cannot start. */
export async function loadTrainingBackend(
	preference: BackendPreference,
	gpu: boolean,
): Promise<{ tf: TfModule; backend: BackendInfo }> {
	const tf = await import("@tensorflow/tfjs");
	let backend: BackendInfo | null = null;
	if (preference === "auto") {
		backend =
			(gpu ? await tryNative(tf, true) : null) ??
			(await tryNative(tf, false)) ??
			(await tryWasm(tf)) ??
			(await useCpu(tf));
	} else if (preference === "tensorflow") {
		backend = (gpu ? await tryNative(tf, true) : null) ?? (await tryNative(tf, false));
	} else if (preference === "wasm") {
		backend = await tryWasm(tf);
	} else {
		backend = await useCpu(tf);
	}
	if (backend === null) throw new Error(`The TF.js backend '${preference}' cannot start here.`);
	return { tf, backend };
}
