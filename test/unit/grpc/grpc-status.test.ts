/** Errors as gRPC answers: HTTP's error table, then the status code a Triton or KServe client expects. */
import { status } from "@grpc/grpc-js";
import { grpcCodeOf, toGrpcError } from "../../../lib/grpc/grpc-status";
import {
	AlreadyExistsError,
	InvalidInputError,
	RateLimitedError,
	StateConflictError,
	UnauthenticatedError,
} from "../../../lib/errors";

describe("gRPC status of an error", () => {
	it("maps each HTTP status as the protocol documents it", () => {
		expect([400, 401, 403, 404, 413, 429, 503, 504, 500].map(code => grpcCodeOf(code))).toEqual(
			[
				status.INVALID_ARGUMENT,
				status.UNAUTHENTICATED,
				status.PERMISSION_DENIED,
				status.NOT_FOUND,
				status.RESOURCE_EXHAUSTED,
				status.RESOURCE_EXHAUSTED,
				status.UNAVAILABLE,
				status.DEADLINE_EXCEEDED,
				status.INTERNAL,
			],
		);
	});

	it("tells a duplicate from another conflict, and keeps the client's message and type", () => {
		expect(toGrpcError(new AlreadyExistsError("Model", "mlp")).code).toBe(
			status.ALREADY_EXISTS,
		);
		const conflict = toGrpcError(new StateConflictError("not now"));
		expect(conflict.code).toBe(status.FAILED_PRECONDITION);
		const bad = toGrpcError(new InvalidInputError("inputs[0] 'x': wrong."));
		expect(bad).toMatchObject({
			code: status.INVALID_ARGUMENT,
			details: "inputs[0] 'x': wrong.",
		});
		expect(bad.metadata?.get("modelfleet-error-type")).toEqual(["INVALID_INPUT"]);
		expect(toGrpcError(new UnauthenticatedError()).code).toBe(status.UNAUTHENTICATED);
		const limited = toGrpcError(new RateLimitedError(10, 60_000, 5_000));
		expect(limited.code).toBe(status.RESOURCE_EXHAUSTED);
		expect(limited.metadata?.get("retry-after")).toEqual(["5"]);
	});

	it("answers INTERNAL without the internals for an error that is not a client's", () => {
		const answer = toGrpcError(new Error("ENOENT /var/lib/secret/file"));
		expect(answer.code).toBe(status.INTERNAL);
		expect(answer.details).not.toContain("/var/lib");
	});
});
