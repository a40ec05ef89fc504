/**
 * One call of the Open Inference Protocol's REST route for a model version, as tests that check
 * a version's answers make it; the response comes back as it came, for the test to judge.
 */

/** An input tensor of the request: its name, datatype, shape and flat data. */
export interface InferInput {
	name: string;
	datatype: string;
	shape: number[];
	data: number[];
}

/** POSTs `inputs` to `<base>/v2/models/<model>/versions/<version>/infer` with `key` as Bearer. */
export function inferVersion(
	base: string,
	key: string,
	model: string,
	version: string,
	inputs: InferInput[],
): Promise<Response> {
	return fetch(`${base}/v2/models/${model}/versions/${version}/infer`, {
		method: "POST",
		headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
		body: JSON.stringify({ inputs }),
	});
}
