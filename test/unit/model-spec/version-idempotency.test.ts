import { IdempotencyConflictError, StateConflictError } from "../../../lib/errors";
import {
	canonicalJson,
	idempotencyOf,
	jobVersionKey,
	registerJobVersion,
	requestFingerprint,
	versionOfKeyConflict,
} from "../../../lib/model-spec/version-idempotency";

const REQUEST = {
	bump: "minor",
	format: "onnx",
	artifact: { sha256: "a".repeat(64), size: 10 },
	metrics: [{ name: "accuracy", value: 0.75 }],
};

describe("version idempotency", () => {
	it("writes equal requests as equal text, whatever their keys' order or undefined members", () => {
		expect(canonicalJson({ b: 1, a: { d: [1, { f: 2, e: undefined }], c: null } })).toBe(
			'{"a":{"c":null,"d":[1,{"f":2}]},"b":1}',
		);
		expect(canonicalJson([undefined, "x"])).toBe('[null,"x"]');
		expect(canonicalJson("é")).toBe('"é"');
	});

	it("fingerprints the request: the same request alike, another artifact, field or action not", () => {
		const same = requestFingerprint("versions.create", {
			metrics: [{ value: 0.75, name: "accuracy" }],
			artifact: { size: 10, sha256: "a".repeat(64) },
			format: "onnx",
			bump: "minor",
			description: undefined,
		});
		expect(same).toMatch(/^[0-9a-f]{64}$/);
		expect(requestFingerprint("versions.create", REQUEST)).toBe(same);
		const others = [
			requestFingerprint("versions.create", {
				...REQUEST,
				artifact: { sha256: "b".repeat(64), size: 10 },
			}),
			requestFingerprint("versions.create", { ...REQUEST, description: "retrained" }),
			requestFingerprint("versions.import", REQUEST),
		];
		for (const other of others) expect(other).not.toBe(same);
	});

	it("has a key only when one was given (null is none)", () => {
		expect(idempotencyOf("versions.create", undefined, REQUEST)).toBeUndefined();
		// Null, as for every optional field, is none.
		expect(idempotencyOf("versions.create", null, REQUEST)).toBeUndefined();
		expect(idempotencyOf("versions.create", "k-1", REQUEST)).toEqual({
			key: "k-1",
			fingerprint: requestFingerprint("versions.create", REQUEST),
		});
	});

	it("keys a job's version by the job alone, not its attempt", () => {
		expect(jobVersionKey("00000000-0000-4000-8000-000000000001")).toBe(
			"job:00000000-0000-4000-8000-000000000001",
		);
	});

	it("reads the version a key conflict names, also from the plain error the transporter rebuilds", () => {
		const conflict = new IdempotencyConflictError("job:1", "iris", "1.1.0");
		expect(versionOfKeyConflict(conflict)).toBe("1.1.0");
		const rebuilt = Object.assign(new Error(conflict.message), {
			name: conflict.name,
			code: 409,
			type: conflict.type,
			data: conflict.data,
		});
		expect(versionOfKeyConflict(rebuilt)).toBe("1.1.0");
		expect(versionOfKeyConflict(new StateConflictError("busy", { version: "1.1.0" }))).toBe(
			null,
		);
		expect(versionOfKeyConflict(new Error("timeout"))).toBeNull();
		expect(versionOfKeyConflict(undefined)).toBeNull();
	});

	it("registers a job's version, or takes the one its key made from an earlier attempt", async () => {
		const told: string[] = [];
		const warn = (earlier: string) => told.push(earlier);
		await expect(registerJobVersion(async () => ({ version: "1.1.0" }), warn)).resolves.toEqual(
			{ version: "1.1.0" },
		);
		const conflict = async () => {
			throw new IdempotencyConflictError("job:1", "iris", "1.0.0");
		};
		await expect(registerJobVersion(conflict, warn)).resolves.toEqual({ version: "1.0.0" });
		expect(told).toEqual(["1.0.0"]);
		const refused = async () => {
			throw new StateConflictError("busy");
		};
		await expect(registerJobVersion(refused, warn)).rejects.toMatchObject({
			type: "STATE_CONFLICT",
		});
	});
});
