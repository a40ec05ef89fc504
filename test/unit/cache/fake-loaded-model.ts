import type { Tensor } from "../../../lib/inference/tensor";
import type { LoadedModel } from "../../../lib/runtimes/model-runtime";

/** A loaded model of a known size that refuses to run once disposed. */
export class FakeLoadedModel implements LoadedModel {
	readonly format = "onnx" as const;
	readonly schema = { inputs: [], outputs: [] };
	readonly executionProvider = "cpu";
	disposed = false;

	constructor(
		readonly key: string,
		readonly memoryBytes: number,
	) {}

	async run(inputs: readonly Tensor[]): Promise<Tensor[]> {
		if (this.disposed) throw new Error(`${this.key} ran after dispose`);
		return [...inputs];
	}

	async dispose(): Promise<void> {
		this.disposed = true;
	}
}

/** A promise the test resolves or rejects by hand. */
export function deferred<T>(): {
	promise: Promise<T>;
	resolve(value: T): void;
	reject(error: unknown): void;
} {
	let resolve!: (value: T) => void;
	let reject!: (error: unknown) => void;
	const promise = new Promise<T>((res, rej) => {
		resolve = res;
		reject = rej;
	});
	return { promise, resolve, reject };
}
