import * as fs from "node:fs";
import * as path from "node:path";
import * as errors from "../../lib/errors";

/** One instance of every error class lib/errors.ts exports. */
const SAMPLES = [
	new errors.InvalidConfigurationError([{ setting: "PORT", problem: "x" }]),
	new errors.NatsRefusedError("credentials", "Authorization Violation"),
	new errors.ServiceNotReadyError(["scheduler"]),
	new errors.ControlUnavailableError("registry"),
	new errors.LeaseLostError("control", 3, "it expired"),
	new errors.UnauthenticatedError(),
	new errors.ForbiddenError("viewer", "create models", ["owner", "developer"]),
	new errors.NotFoundError("model", "iris"),
	new errors.AlreadyExistsError("model", "iris"),
	new errors.InvalidTransitionError("Draft", "Deployed", ["Training"]),
	new errors.StateConflictError("busy"),
	new errors.IdempotencyConflictError("job:1", "iris", "1.1.0"),
	new errors.ReservedIdempotencyKeyError("job:1", "job:"),
	new errors.InvalidInputError("bad"),
	new errors.InvalidModelFileError("onnx", "truncated"),
	new errors.UnsafeModelFormatError("Python pickle"),
	new errors.SchemaMismatchError("inputs[0].shape", [1], [2]),
	new errors.PayloadTooLargeError(10),
	new errors.RequestTooLargeError("rows", 11, 10, "maxRowsPerRequest", "rows"),
	new errors.ArtifactCorruptError("a", "b"),
	new errors.ArtifactUnreadableError("a", "tampered"),
	new errors.RateLimitedError(10, 60_000, 1500),
	new errors.ResourceLimitExceededError("models", "size", 3, 3),
	new errors.TooManyInFlightError("request-body bytes", 10, "MODELFLEET_KEY_IN_FLIGHT_BYTES"),
	new errors.GatewayBusyError(10, "MODELFLEET_IN_FLIGHT_BYTES"),
	new errors.BodyTimeoutError(30),
	new errors.ArchiveTooLargeError("bytes", 10, "MODELFLEET_MAX_ARCHIVE_BYTES"),
	new errors.OverloadedError("iris@1.0.0", 20),
	new errors.DeadlineExceededError(12),
	new errors.ModelLoadError("iris@1.0.0", "bad"),
	new errors.JsonTooDeepError("The request body", 64, "MODELFLEET_MAX_JSON_DEPTH"),
	new errors.InvalidTextError("the path", "a NUL character"),
	new errors.InvalidCursorError(),
	new errors.RangeNotSatisfiableError("bytes=10-", 5),
] as unknown as { type: string; code: number; name: string; constructor: { name: string } }[];

describe("lib/errors", () => {
	it("has a sample here for every exported error class", () => {
		const classes = Object.values(errors).filter(
			value => typeof value === "function" && value.prototype instanceof Error,
		);
		expect(new Set(SAMPLES.map(e => e.constructor))).toEqual(new Set(classes));
	});

	it("gives every error class a distinct type from the catalogue, and its class name", () => {
		const types = SAMPLES.map(e => e.type);
		expect(new Set(types).size).toBe(types.length);
		expect([...types].sort()).toEqual(Object.keys(errors.ERROR_CATALOGUE).sort());
		for (const error of SAMPLES) expect(error.name).toBe(error.constructor.name);
	});

	it("documents every error type in docs/http-api.md", () => {
		const doc = fs.readFileSync(
			path.join(__dirname, "..", "..", "docs", "http-api.md"),
			"utf8",
		);
		for (const type of Object.keys(errors.ERROR_CATALOGUE))
			expect(doc).toContain(`\`${type}\``);
	});
});
