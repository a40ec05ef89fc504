import { Errors } from "moleculer";
import { toErrorResponse } from "../../../lib/http/error-response";
import { ServiceNotReadyError } from "../../../lib/errors";

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
});
