import { Errors } from "moleculer";
import type { ServerResponse } from "node:http";
import { restError, toErrorResponse } from "../../../lib/http/error-response";
import {
	InvalidInputError,
	OverloadedError,
	RateLimitedError,
	ServiceNotReadyError,
} from "../../../lib/errors";

describe("toErrorResponse", () => {
	it("answers parameter validation with 400 and the fields that were wrong", () => {
		const err = new Errors.ValidationError("Parameters validation error!", "VALIDATION_ERROR", [
			{ field: "role", message: "must be one of …" },
		]);
		expect(toErrorResponse(err)).toEqual({
			status: 400,
			body: {
				name: "ValidationError",
				type: "VALIDATION_ERROR",
				message: "Parameters validation error!",
				code: 400,
				data: [{ field: "role", message: "must be one of …" }],
			},
		});
	});

	it("keeps a client error's own status, type and data", () => {
		expect(toErrorResponse(new ServiceNotReadyError(["scheduler"]))).toMatchObject({
			status: 503,
			body: { type: "SERVICE_NOT_READY", data: { missing: ["scheduler"] } },
		});
	});

	it("hides what went wrong inside a crash behind a 500", () => {
		const response = toErrorResponse(
			new TypeError("cannot read properties of undefined (secret path)"),
		);
		expect(response.status).toBe(500);
		expect(response.body.message).not.toContain("secret");
		expect(toErrorResponse(undefined).status).toBe(500);
	});

	it("gives the seconds to wait for errors that say how long", () => {
		expect(toErrorResponse(new RateLimitedError(5, 60_000, 1200))).toMatchObject({
			status: 429,
			retryAfterS: 2,
			body: { type: "RATE_LIMITED", data: { retryAfterMs: 1200 } },
		});
		expect(toErrorResponse(new OverloadedError("m", 10)).retryAfterS).toBe(1);
	});

	it("answers a timeout with 504 and no action or node name", () => {
		const response = toErrorResponse(
			new Errors.RequestTimeoutError({ action: "predictor.infer", nodeID: "worker-7" }),
		);
		expect(response.status).toBe(504);
		expect(response.body).toEqual({
			name: "RequestTimeoutError",
			type: "REQUEST_TIMEOUT",
			message: expect.stringContaining("MODELFLEET_REQUEST_TIMEOUT_MS"),
			code: 504,
		});
		expect(JSON.stringify(response.body)).not.toMatch(/predictor|worker-7/);
	});

	it("answers a missing service with 503, not a 404 that reads like an unknown model", () => {
		const response = toErrorResponse(
			new Errors.ServiceNotFoundError({ action: "predictor.infer", nodeID: "n1" }),
		);
		expect(response).toMatchObject({ status: 503, body: { type: "SERVICE_NOT_READY" } });
		expect(response.body.message).not.toContain("predictor");
	});

	it("says a control service with no instance is the control plane being down, naming the service", () => {
		for (const err of [
			new Errors.ServiceNotAvailableError({ action: "registry.models.create", nodeID: "c1" }),
			new Errors.ServiceNotFoundError({ action: "registry.models.create" }),
			new Errors.RequestRejectedError({ action: "registry.models.create", nodeID: "c1" }),
		]) {
			const response = toErrorResponse(err);
			expect(response).toMatchObject({
				status: 503,
				body: { type: "CONTROL_UNAVAILABLE", data: { service: "registry" } },
				retryAfterS: 5,
			});
			expect(response.body.message).toMatch(/No control node answers/);
			expect(response.body.message).toMatch(
				/Predictions of versions the workers already serve go on/,
			);
		}
		// A worker's service missing is not the control plane's.
		expect(
			toErrorResponse(new Errors.ServiceNotAvailableError({ action: "predictor.infer" })).body
				.type,
		).toBe("SERVICE_NOT_READY");
	});

	it("puts the JSON body parser's errors in our terms", () => {
		const parse = new Errors.MoleculerError(
			"Unexpected token } in JSON at position 9",
			400,
			"entity.parse.failed",
		);
		expect(toErrorResponse(parse)).toMatchObject({
			status: 400,
			body: { type: "INVALID_INPUT", message: expect.stringContaining("not valid JSON") },
		});
		const large = new Errors.MoleculerError(
			"request entity too large",
			413,
			"entity.too.large",
		);
		expect(toErrorResponse(large)).toMatchObject({
			status: 413,
			body: { type: "REQUEST_TOO_LARGE" },
		});
	});

	it("cuts file paths, stacks and data out of errors whose text is not ours", () => {
		const err = new Errors.MoleculerError(
			"ENOENT: no such file /srv/modelfleet/data/blobs/ab/cd\n    at Object.open (node:fs:1)",
			400,
			"SOMETHING_ELSE",
			{ path: "/srv/modelfleet/data" },
		);
		const response = toErrorResponse(err);
		expect(response.status).toBe(400);
		expect(JSON.stringify(response.body)).not.toMatch(/\/srv|node:fs|at Object/);
		expect(response.body.data).toBeUndefined();
	});
});

describe("restError", () => {
	/** A response that keeps what was written. */
	function recorder(): { res: ServerResponse; written: { status?: number; body?: string } } {
		const written: { status?: number; body?: string } = {};
		const res = {
			headersSent: false,
			destroyed: false,
			writeHead(status: number) {
				written.status = status;
				return res;
			},
			end(body?: string) {
				written.body = body;
			},
		};
		return { res: res as unknown as ServerResponse, written };
	}
	const logger = { logger: { error: () => undefined } };

	it("writes a client error whose data nests past the stack without throwing, leaving the data out", () => {
		let deep: unknown = {};
		for (let i = 0; i < 200_000; i++) deep = { a: deep };
		const { res, written } = recorder();
		expect(() =>
			restError.call(logger, undefined as never, res, new InvalidInputError("bad", { deep })),
		).not.toThrow();
		expect(written.status).toBe(400);
		expect(JSON.parse(written.body ?? "")).toEqual({
			name: "InvalidInputError",
			type: "INVALID_INPUT",
			message: "bad",
			code: 400,
		});
	});

	it("writes a client error whose data has a cycle, leaving the data out", () => {
		const cyclic: Record<string, unknown> = {};
		cyclic.self = cyclic;
		const { res, written } = recorder();
		restError.call(logger, undefined as never, res, new InvalidInputError("bad", { cyclic }));
		expect(written.status).toBe(400);
		expect(JSON.parse(written.body ?? "")).toMatchObject({ type: "INVALID_INPUT" });
	});
});
