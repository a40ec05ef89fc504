import { jsonSyntaxReason, reasonOf } from "../../../lib/files/error-reasons";

function syntaxError(text: string): SyntaxError {
	try {
		JSON.parse(text);
	} catch (error) {
		return error as SyntaxError;
	}
	throw new Error("parsed");
}

describe("reasonOf", () => {
	it("keeps where a JSON syntax error is, never the text JSON.parse quotes", () => {
		const error = syntaxError("sepal_length,sepal_width\n5.1,3.5");
		expect(error.message).toContain("sepal");
		expect(reasonOf(error)).toMatch(/^a JSON syntax error/);
		expect(reasonOf(error)).not.toContain("sepal");
		expect(jsonSyntaxReason(syntaxError('{"a": 1} trailing-secret'))).toMatch(
			/^a JSON syntax error at position \d+/,
		);
	});

	it("leaves the stored file's path out of other messages", () => {
		expect(
			reasonOf(new Error("cannot open /data/artifacts/ab/abc"), "/data/artifacts/ab/abc"),
		).toBe("cannot open the file");
	});
});
