/**
 * A small JSON request body read from a stream (routes whose body parsing is their own): empty
 * is allowed and answers undefined, as Triton's repository requests may have no body.
 */
import type { Readable } from "node:stream";
import { InvalidInputError } from "../errors";
import { readRequestBody, type BodyReadOptions } from "./request-body";

/**
 * @throws RequestTooLargeError (413) over the limit, InvalidInputError (400) for a body that
 *   is not JSON
 */
export async function readOptionalJson(
	stream: Readable,
	options: BodyReadOptions,
): Promise<unknown> {
	const text = (await readRequestBody(stream, options)).toString("utf8").trim();
	if (text === "") return undefined;
	try {
		return JSON.parse(text) as unknown;
	} catch (error) {
		throw new InvalidInputError(
			`The request body is not valid JSON (${(error as Error).message}); send a JSON object.`,
			{ where: "body" },
		);
	}
}
