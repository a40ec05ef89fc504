/**
 * A piscina worker thread: keeps the models it was asked to run (a few, least recently used
 * out first) and runs batches on them. Each thread has its own session, with one intra-op
 * thread: the pool's threads are the parallelism.
 */
import { performance } from "node:perf_hooks";
import { threadId } from "node:worker_threads";
import { move, transferableSymbol, valueSymbol } from "piscina";
import { resolveRuntime } from "../index";
import type { LoadedModel } from "../model-runtime";
import type { RuntimeTask, RuntimeTaskResult } from "./runtime-task";

const MAX_MODELS_PER_THREAD = 8;
const models = new Map<string, Promise<LoadedModel>>();

async function modelFor(task: RuntimeTask): Promise<LoadedModel> {
	let loading = models.get(task.modelKey);
	if (loading === undefined) {
		loading = resolveRuntime(task.format).load(task.filePath, {
			executionProviders: task.executionProviders,
			...(task.archiveLimits ? { archiveLimits: task.archiveLimits } : {}),
			intraOpThreads: 1,
			interOpThreads: 1,
		});
		models.set(task.modelKey, loading);
		// A failed load is not kept: the next task tries again.
		loading.catch(() => models.delete(task.modelKey));
		if (models.size > MAX_MODELS_PER_THREAD) {
			const [oldestKey, oldest] = models.entries().next().value as [
				string,
				Promise<LoadedModel>,
			];
			models.delete(oldestKey);
			void oldest.then(m => m.dispose()).catch(() => undefined);
		}
	} else {
		// Most recently used last.
		models.delete(task.modelKey);
		models.set(task.modelKey, loading);
	}
	return loading;
}

export default async function runTask(task: RuntimeTask): Promise<unknown> {
	const model = await modelFor(task);
	const started = performance.now();
	const outputs = await model.run(task.inputs, task.outputNames);
	const result: RuntimeTaskResult = {
		outputs,
		executionProvider: model.executionProvider,
		computeMs: performance.now() - started,
		chunks: [{ rows: task.inputs[0]?.shape[0] ?? 0, threadId }],
	};
	// Hand the output buffers to the caller's thread instead of copying them (piscina's
	// transferable wrapper: the value, and the buffers to move with it).
	const buffers = [
		...new Set(
			outputs.flatMap(t => (Array.isArray(t.data) ? [] : [(t.data as Float32Array).buffer])),
		),
	];
	// `move` marks the wrapper movable, so piscina transfers rather than clones.
	return move({ [transferableSymbol]: buffers, [valueSymbol]: result } as never);
}
