import {
	otelSpanId,
	otelTraceId,
	parseTraceparent,
	requestIdOf,
} from "../../../lib/observability/trace-context";

describe("traceparent", () => {
	it("reads the trace id, parent span id and sampled flag", () => {
		expect(parseTraceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")).toEqual(
			{
				traceId: "0af7651916cd43dd8448eb211c80319c",
				spanId: "b7ad6b7169203331",
				sampled: true,
			},
		);
		expect(
			parseTraceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00")?.sampled,
		).toBe(false);
	});

	it.each([
		[undefined],
		["garbage"],
		["00-00000000000000000000000000000000-b7ad6b7169203331-01"],
		["00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01"],
		["ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"],
		["00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra"],
		["00-0af7651916cd43dd8448eb211c80319-b7ad6b7169203331-01"],
	])("ignores an invalid one (%s), starting a new trace", header => {
		expect(parseTraceparent(header)).toBeNull();
	});

	it("accepts a later version's extra fields", () => {
		expect(
			parseTraceparent("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-more"),
		).not.toBeNull();
	});
});

describe("ids", () => {
	it("maps Moleculer's UUIDs to OpenTelemetry ids the same way every time", () => {
		const uuid = "68817907-f3d2-415b-98f3-a59028ff515f";
		expect(otelTraceId(uuid)).toBe("68817907f3d2415b98f3a59028ff515f");
		expect(otelSpanId(uuid)).toBe("68817907f3d2415b");
		expect(otelTraceId("0af7651916cd43dd8448eb211c80319c")).toBe(
			"0af7651916cd43dd8448eb211c80319c",
		);
		expect(otelSpanId("b7ad6b7169203331")).toBe("b7ad6b7169203331");
		expect(otelTraceId("anything")).toMatch(/^[0-9a-f]{32}$/);
		expect(otelSpanId("anything")).toBe(otelSpanId("anything"));
	});

	it("keeps a sane client request id and replaces others", () => {
		expect(requestIdOf("abc-123_x.y:z")).toBe("abc-123_x.y:z");
		for (const bad of [undefined, "", "a b", "x".repeat(129), "é", ["a", "b"]])
			expect(requestIdOf(bad)).toMatch(/^[0-9a-f-]{36}$/);
	});
});
