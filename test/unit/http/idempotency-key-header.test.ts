import type { ServerResponse } from "node:http";
import {
	applyIdempotencyKeyHeader,
	applyReplayedHeader,
} from "../../../lib/http/idempotency-key-header";
import { jobVersionKey } from "../../../lib/model-spec/version-idempotency";

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

	it("refuses a job's key from a client, as the header or the body field, with 400", () => {
		const reserved = expect.objectContaining({
			code: 400,
			type: "RESERVED_IDEMPOTENCY_KEY",
			data: { field: "idempotencyKey", key: jobVersionKey("j1"), prefix: "job:" },
		});
		expect(() =>
			applyIdempotencyKeyHeader(
				{ "idempotency-key": jobVersionKey("j1") },
				{ model: "iris" },
			),
		).toThrow(reserved);
		expect(() =>
			applyIdempotencyKeyHeader({}, { model: "iris", idempotencyKey: jobVersionKey("j1") }),
		).toThrow(reserved);
		for (const own of ["JOB:j1", "my-job:j1", "job"]) {
			const params: Record<string, unknown> = { model: "iris" };
			applyIdempotencyKeyHeader({ "idempotency-key": own }, params);
			expect(params.idempotencyKey).toBe(own);
		}
	});
});

describe("applyReplayedHeader", () => {
	it("sends Idempotent-Replayed: true only for a create answered from its key", () => {
		const headers = new Map<string, unknown>();
		const res = { setHeader: (name: string, value: unknown) => headers.set(name, value) };
		applyReplayedHeader({}, res as unknown as ServerResponse);
		applyReplayedHeader({ idempotentReplay: false }, res as unknown as ServerResponse);
		expect([...headers]).toEqual([]);
		applyReplayedHeader({ idempotentReplay: true }, res as unknown as ServerResponse);
		expect([...headers]).toEqual([["Idempotent-Replayed", "true"]]);
	});
});
