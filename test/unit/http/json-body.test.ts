import { Readable } from "node:stream";
import { InvalidInputError, RequestTooLargeError } from "../../../lib/errors";
import { readOptionalJson } from "../../../lib/http/json-body";

const LIMIT = { limitBytes: 64, limitSetting: "MODELFLEET_MAX_BODY_BYTES" };

describe("readOptionalJson", () => {
	it("parses a JSON body, and answers undefined for an empty or blank one", async () => {
		expect(
			await readOptionalJson(
				Readable.from([Buffer.from('{"ready":'), Buffer.from("true}")]),
				LIMIT,
			),
		).toEqual({
			ready: true,
		});
		expect(await readOptionalJson(Readable.from([]), LIMIT)).toBeUndefined();
		expect(await readOptionalJson(Readable.from([Buffer.from(" \n")]), LIMIT)).toBeUndefined();
	});

	it("refuses a body that is not JSON (400) or is over the limit (413)", async () => {
		await expect(
			readOptionalJson(Readable.from([Buffer.from("{oops")]), LIMIT),
		).rejects.toBeInstanceOf(InvalidInputError);
		await expect(
			readOptionalJson(Readable.from([Buffer.alloc(65, 32)]), LIMIT),
		).rejects.toBeInstanceOf(RequestTooLargeError);
	});
});
