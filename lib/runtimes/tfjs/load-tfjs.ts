/**
 * The TF.js module, loaded on first use with the WebAssembly backend (no tfjs-node: it needs a
 * native download). One per process: TF.js keeps its backend and tensors in global state.
 */
import type * as Tf from "@tensorflow/tfjs";

export type TfModule = typeof Tf;

let loading: Promise<TfModule> | undefined;

/** TF.js with the wasm backend ready (the cpu backend if wasm cannot start). */
export function loadTfjs(): Promise<TfModule> {
	loading ??= (async () => {
		const tf = await import("@tensorflow/tfjs");
		await import("@tensorflow/tfjs-backend-wasm");
		if (!(await tf.setBackend("wasm"))) await tf.setBackend("cpu");
		await tf.ready();
		return tf;
	})();
	return loading;
}
