import { requestTargetProblem } from "../../../lib/http/request-target";

describe("requestTargetProblem (the edge check of paths and queries)", () => {
	it.each([
		"/api/v1/models",
		"/api/v1/models/mlp?tag=team%3Dml&limit=5",
		"/v2/models/caf%C3%A9/infer",
		"/api/v1/models?prefix=%F0%9F%98%80",
		"/api/v1/models?tag=a+b",
		undefined,
	])("passes %s", url => {
		expect(requestTargetProblem(url)).toBeNull();
	});

	it.each([
		["/api/v1/models/a%00b", "The request path", "NUL"],
		["/v2/models/mlp%00/infer", "The request path", "NUL"],
		["/api/v1/models?tag=%00", "The query string", "NUL"],
		["/api/v1/models/%C3%28", "The request path", "not valid UTF-8"],
		["/api/v1/models?tag=%FF", "The query string", "not valid UTF-8"],
		["/api/v1/models?tag=%ED%A0%80", "The query string", "not valid UTF-8"],
		["/api/v1/models/%zz", "The request path", "malformed percent-escape"],
		["/api/v1/models?cursor=%f", "The query string", "malformed percent-escape"],
		["/api/v1/models/caf\u00e9x\u00ff", "The request path", "not valid UTF-8"],
	])("refuses %s with 400 INVALID_TEXT naming the part", (url, where, problem) => {
		const err = requestTargetProblem(url);
		expect(err).toMatchObject({ code: 400, type: "INVALID_TEXT", data: { where } });
		expect(err?.message).toContain(problem);
	});
});
