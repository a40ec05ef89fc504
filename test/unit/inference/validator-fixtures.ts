/** What the request-validator tests share: an iris-like schema and the check of a refusal. */
import { InvalidInputError, RequestTooLargeError } from "../../../lib/errors";
import type { RequestValidator } from "../../../lib/inference/request-validator";
import type { ModelSchema } from "../../../lib/model-spec/model-schema";

/** Four iris-like features (one categorical), 64-bit ids and a boolean mask. */
export const SCHEMA: ModelSchema = {
	inputs: [
		{
			name: "x",
			datatype: "FP32",
			shape: [-1, 4],
			features: [
				{ name: "sepal_length", min: 0, max: 10 },
				{ name: "sepal_width" },
				{ name: "color", categories: ["red", "green", "blue"] },
				{ name: "petal_width", min: 0.1, max: 2.5 },
			],
		},
		{ name: "ids", datatype: "INT64", shape: [-1, 2] },
		{ name: "mask", datatype: "BOOL", shape: [-1] },
	],
	outputs: [{ name: "probabilities", datatype: "FP32", shape: [-1, 3] }],
};

/** The error `validate` throws for `request`; fails the test when it accepts it. */
export function refusal(validate: RequestValidator, request: unknown): Error {
	try {
		validate(request);
	} catch (error) {
		return error as Error;
	}
	throw new Error("expected the request to be refused");
}

/** Asserts the error class, its status code and type, and the whole message. */
export function expectRefused(
	validate: RequestValidator,
	request: unknown,
	kind: typeof InvalidInputError | typeof RequestTooLargeError,
	message: string,
): void {
	const error = refusal(validate, request) as InvalidInputError;
	expect(error).toBeInstanceOf(kind);
	expect(error.code).toBe(kind === InvalidInputError ? 400 : 413);
	expect(error.type).toBe(kind === InvalidInputError ? "INVALID_INPUT" : "REQUEST_TOO_LARGE");
	expect(error.message).toBe(message);
}
