/**
 * The answer to an infer request a gateway forwarded as its JSON text (lib/http/infer-request.ts)
 * travels back between nodes as JSON text too: the text the gateway would have written, made
 * once on the worker. Without it the worker encoded the result (typed arrays and all) in CBOR,
 * and the gateway decoded it only to turn it into that same JSON; now the gateway writes the
 * bytes it receives.
 *
 * On the worker the result stays an `InferResult` (the usage meter, statistics and capture read
 * it as before): `answeredAsJson` makes it an `AnsweredAsJson`, an `InferResult` that the bus's
 * CBOR serializer writes as a tagged byte string of its JSON answer. Whatever decodes that tag
 * gets a `JsonAnswer`: the bytes, nothing else. Where caller and predictor share a node nothing
 * is serialized and the caller gets the `AnsweredAsJson` itself, which is answered the usual way.
 * The tag is registered with cbor-x (the one Moleculer's CBOR serializer uses) when this module
 * loads: the predictor service, which makes these answers, and the gateway's infer route, which
 * reads them, both import it. All nodes of a fleet must run a version that has it.
 */
import { inferResponseText } from "./infer-request";
import type { Tensor } from "../inference/tensor";
import type { InferResult } from "../predictor/served-model";

/**
 * The CBOR tag of an answer that travels as its JSON text: a number from the range IANA assigns
 * first come, first served, unregistered, and private to modelfleet's bus.
 */
export const JSON_ANSWER_TAG = 28_006;

/** A predictor's result for a forwarded request: its JSON answer once it crosses the bus. */
export class AnsweredAsJson implements InferResult {
	readonly modelName: string;
	readonly modelVersion: string;
	// Declared only: set where the result has them, so the answer holds no `id: undefined`.
	declare readonly id?: string;
	declare readonly parameters?: Record<string, unknown>;
	readonly outputs: Tensor[];
	readonly executionProvider: string;
	readonly steps: string[];
	readonly rows: number;

	constructor(result: InferResult) {
		this.modelName = result.modelName;
		this.modelVersion = result.modelVersion;
		if (result.id !== undefined) this.id = result.id;
		if (result.parameters !== undefined) this.parameters = result.parameters;
		this.outputs = result.outputs;
		this.executionProvider = result.executionProvider;
		this.steps = result.steps;
		this.rows = result.rows;
	}
}

/** What a caller on another node receives for an `AnsweredAsJson`: the answer's JSON, as bytes. */
export class JsonAnswer {
	constructor(readonly bytes: Buffer) {}
}

/** `result` to be answered as JSON text, should it travel. */
export function answeredAsJson(result: InferResult): AnsweredAsJson {
	return new AnsweredAsJson(result);
}

/** A predictor's answer as a caller receives it: the result, or its JSON from another node. */
export type ReceivedInferResult = InferResult | JsonAnswer;

/**
 * The result itself, for callers whose requests are never forwarded (they parse them): a
 * `JsonAnswer` there is a fault of ours, not the client's.
 */
export function structuredResult(received: ReceivedInferResult): InferResult {
	if (received instanceof JsonAnswer)
		throw new Error(
			"A predictor answered as JSON text a request that was not forwarded as JSON.",
		);
	return received;
}

function asBuffer(bytes: Uint8Array): Buffer {
	return Buffer.isBuffer(bytes)
		? bytes
		: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** cbor-x's extension hook, as far as it is used here (its typings are an ES module's). */
interface CborExtension {
	Class: typeof AnsweredAsJson;
	tag: number;
	encode(value: AnsweredAsJson, encode: (data: unknown) => Uint8Array): Uint8Array;
	decode(item: unknown): unknown;
}
// The same cbor-x that Moleculer's CBOR serializer requires: the tag must be in its tables.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const cbor = require("cbor-x") as { addExtension(extension: CborExtension): void };

cbor.addExtension({
	Class: AnsweredAsJson,
	tag: JSON_ANSWER_TAG,
	encode: (answer, encode) => encode(Buffer.from(inferResponseText(answer))),
	decode: bytes => {
		// Anything but a byte string under the tag is not ours: refused as a malformed message.
		if (!(bytes instanceof Uint8Array))
			throw new TypeError("A JSON answer on the bus must be a byte string.");
		return new JsonAnswer(asBuffer(bytes));
	},
});
