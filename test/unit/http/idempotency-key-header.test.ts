import { applyIdempotencyKeyHeader } from "../../../lib/http/idempotency-key-header";

describe("applyIdempotencyKeyHeader", () => {
	it("hands the header to the action as idempotencyKey", () => {
		const params: Record<string, unknown> = { model: "iris", bump: "minor" };
		applyIdempotencyKeyHeader({ "idempotency-key": "3f1c-upload-1" }, params);
		expect(params).toEqual({ model: "iris", bump: "minor", idempotencyKey: "3f1c-upload-1" });
	});

	it("leaves the params alone without the header, keeps a body's key, and fills a null one", () => {
		const none: Record<string, unknown> = { model: "iris" };
		applyIdempotencyKeyHeader({}, none);
		expect(none).toEqual({ model: "iris" });
		const body: Record<string, unknown> = { model: "iris", idempotencyKey: "k" };
		applyIdempotencyKeyHeader({}, body);
		expect(body.idempotencyKey).toBe("k");
		applyIdempotencyKeyHeader({ "idempotency-key": "k" }, body);
		expect(body.idempotencyKey).toBe("k");
		const nullBody: Record<string, unknown> = { model: "iris", idempotencyKey: null };
		applyIdempotencyKeyHeader({ "idempotency-key": "k" }, nullBody);
		expect(nullBody.idempotencyKey).toBe("k");
	});

	it("refuses a header and a body that name different keys with 400", () => {
		expect(() =>
			applyIdempotencyKeyHeader(
				{ "idempotency-key": "a" },
				{ model: "iris", idempotencyKey: "b" },
			),
		).toThrow(
			expect.objectContaining({
				code: 400,
				type: "INVALID_INPUT",
				data: { field: "idempotencyKey" },
			}),
		);
	});
});
