/**
 * Runs a TF.js graph model: synchronously inside tf.tidy where the graph allows, else (control
 * flow, dynamic shapes: TF.js's error names executeAsync) asynchronously, remembered per model
 * so that later batches go there at once. executeAsync on a plain graph works too, but TF.js
 * logs a warning on every call.
 */
import type { GraphModel, Tensor as TfTensor } from "@tensorflow/tfjs";
import { reasonOf } from "../../files/error-reasons";
import type { TfModule } from "./load-tfjs";

/** Models found to need executeAsync. */
const needsAsync = new WeakSet<GraphModel>();

/**
 * @param makeFeeds makes the input tensors; called inside tidy, or disposed here after an async run
 * @returns the outputs named, which the caller disposes
 */
export async function executeGraph(
	tf: TfModule,
	model: GraphModel,
	makeFeeds: () => Record<string, TfTensor>,
	names: readonly string[],
): Promise<TfTensor[]> {
	if (!needsAsync.has(model)) {
		try {
			return tf.tidy(() => {
				const result = model.execute(makeFeeds(), [...names]);
				return Array.isArray(result) ? result : [result];
			});
		} catch (error) {
			if (!/executeAsync/.test(reasonOf(error))) throw error;
			needsAsync.add(model);
		}
	}
	let feeds: Record<string, TfTensor> = {};
	try {
		feeds = makeFeeds();
		const result = await model.executeAsync(feeds, [...names]);
		return Array.isArray(result) ? result : [result];
	} finally {
		tf.dispose(Object.values(feeds));
	}
}
