import { Errors } from "moleculer";
import { errorLine } from "../../../lib/repl/error-line";
import { NotFoundError } from "../../../lib/errors";

describe("errorLine", () => {
	it("prints a client error's own message after 'error: '", () => {
		expect(errorLine(new NotFoundError("deployment", "x"))).toBe(
			"error: deployment 'x' not found.",
		);
	});

	it("lists what parameter validation found, on one line", () => {
		const err = new Errors.ValidationError("Parameters validation error!", "VALIDATION_ERROR", [
			{ type: "numberMax", field: "replicas", message: "The 'replicas' field must be ≤ 64." },
			{ type: "required", field: "model", message: "The 'model' field is required." },
		]);
		expect(errorLine(err)).toBe(
			"error: invalid input: The 'replicas' field must be ≤ 64.; The 'model' field is required.",
		);
	});

	it("says which action no node offers, and what to check", () => {
		const line = errorLine(new Errors.ServiceNotAvailableError({ action: "scheduler.nodes" }));
		expect(line).toMatch(/^error: no node of the fleet offers 'scheduler.nodes' now; /);
		expect(line).toContain("MODELFLEET_NAMESPACE");
	});

	it("names the action that timed out", () => {
		const err = new Errors.RequestTimeoutError({ action: "predictor.infer", nodeID: "w1" });
		expect(errorLine(err)).toMatch(/^error: 'predictor.infer' did not answer in time/);
	});

	it("folds a multi-line message and prints non-errors as text", () => {
		expect(errorLine(new Error("first\n  second"))).toBe("error: first second");
		expect(errorLine("plain")).toBe("error: plain");
	});
});
