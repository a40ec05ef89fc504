import { oipError, oipVersionRef } from "../../../lib/http/oip-http";
import { OverloadedError } from "../../../lib/errors";

describe("oipVersionRef", () => {
	it.each([
		[{ model: "iris" }, { model: "iris" }],
		[
			{ model: "iris", version: "3" },
			{ model: "iris", version: "3.0.0" },
		],
		[
			{ model: "iris", version: "1.2.0" },
			{ model: "iris", version: "1.2.0" },
		],
		[
			{ model: "iris", version: "champion" },
			{ model: "iris", version: "champion" },
		],
	])("reads %j as %j", (given, want) => {
		expect(oipVersionRef(given)).toEqual(want);
	});
});

describe("oipError", () => {
	it("answers {error} with the status, and Retry-After when overloaded", () => {
		const written: { status?: number; headers?: Record<string, string>; body?: string } = {};
		const res = {
			writeHead(status: number, headers: Record<string, string>) {
				written.status = status;
				written.headers = headers;
			},
			end(body: string) {
				written.body = body;
			},
		};
		oipError.call(
			{ logger: { error: () => undefined } },
			{} as never,
			res as never,
			new OverloadedError("iris@1.0.0", 1500),
		);
		expect(written.status).toBe(503);
		expect(written.headers?.["Retry-After"]).toBe("2");
		expect(Object.keys(JSON.parse(written.body ?? "{}"))).toEqual(["error"]);
	});
});
