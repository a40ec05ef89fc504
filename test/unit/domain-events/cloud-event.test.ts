import {
	DURABLE_EVENTS,
	TYPE_PATTERN,
	isKnownTypePattern,
	toCloudEvent,
	typeMatches,
} from "../../../lib/domain-events/cloud-event";
import { parseCursor } from "../../../lib/domain-events/event-cursor";
import { tenantFilter } from "../../../lib/domain-events/jetstream-event-log";
import { PredictionSummaries } from "../../../lib/domain-events/prediction-summary";
import { EVENTS } from "../../../lib/events";
import { InvalidCursorError } from "../../../lib/errors";

const TENANT = "0b6f8a5e-4a52-4c7b-9a53-2f3c2a1d9e11";

describe("toCloudEvent", () => {
	it("wraps a durable event in a CloudEvents 1.0 envelope with the tenant extension", () => {
		const at = new Date("2026-01-02T03:04:05.000Z");
		const event = toCloudEvent(
			EVENTS.modelDeployed,
			{
				tenant: TENANT,
				keyId: null,
				model: "iris",
				version: "1.0.0",
				versionId: "v",
				state: "Deployed",
				from: "Validated",
			},
			"/modelfleet/test/control",
			at,
		);
		expect(event).toEqual({
			specversion: "1.0",
			id: expect.stringMatching(/^[0-9a-f-]{36}$/),
			source: "/modelfleet/test/control",
			type: "io.modelfleet.model.deployed",
			time: "2026-01-02T03:04:05.000Z",
			subject: "models/iris/versions/1.0.0",
			tenant: TENANT,
			datacontenttype: "application/json",
			data: expect.objectContaining({ model: "iris", state: "Deployed" }),
		});
	});

	it("leaves internal events and one-per-request failures out", () => {
		expect(
			toCloudEvent(
				EVENTS.predictionFailed,
				{ nodeID: "n", tenant: TENANT, model: "m", version: null, type: "X", message: "" },
				"s",
			),
		).toBeNull();
		expect(
			toCloudEvent(EVENTS.nodeForgotten, { nodeID: "n", reason: "operator" }, "s"),
		).toBeNull();
		expect(DURABLE_EVENTS).toContain(EVENTS.predictionSummary);
		expect(DURABLE_EVENTS).not.toContain(EVENTS.nodeStatus);
	});
});

describe("event type filters", () => {
	it("match exact types, short names, prefixes and everything", () => {
		const type = "io.modelfleet.training.completed";
		expect(typeMatches(["training.completed"], type)).toBe(true);
		expect(typeMatches(["io.modelfleet.training.completed"], type)).toBe(true);
		expect(typeMatches(["training.*"], type)).toBe(true);
		expect(typeMatches(["*"], type)).toBe(true);
		expect(typeMatches(["model.*", "training.failed"], type)).toBe(false);
		expect(isKnownTypePattern("model.deployed")).toBe(true);
		expect(isKnownTypePattern("model.deploy")).toBe(false);
		expect(isKnownTypePattern("node.status")).toBe(false);
	});

	it("look like types, so they make valid JetStream subject filters", () => {
		for (const ok of ["*", "model.created", "training.*", "io.modelfleet.model.*", "x_y-z"])
			expect(TYPE_PATTERN.test(ok)).toBe(true);
		for (const bad of ["", ">", "mod*el", "a.*.b", "a..b", ".a", "a.", "a b", "*.a"])
			expect(TYPE_PATTERN.test(bad)).toBe(false);
	});

	it("become the subject filter of the tenant's events on JetStream", () => {
		expect(tenantFilter("p", TENANT, undefined)).toBe(`p.${TENANT}.>`);
		expect(tenantFilter("p", TENANT, "*")).toBe(`p.${TENANT}.>`);
		expect(tenantFilter("p", TENANT, "model.created")).toBe(`p.${TENANT}.model.created`);
		expect(tenantFilter("p", TENANT, "io.modelfleet.training.*")).toBe(
			`p.${TENANT}.training.>`,
		);
	});
});

describe("parseCursor", () => {
	it("reads the cursors it hands out and refuses anything else with 400", () => {
		expect(parseCursor(undefined)).toBe(0);
		expect(parseCursor("")).toBe(0);
		expect(parseCursor("42")).toBe(42);
		for (const bad of ["-1", "1.5", "abc", "1e3", "9999999999999999"])
			expect(() => parseCursor(bad)).toThrow(InvalidCursorError);
	});
});

describe("PredictionSummaries", () => {
	it("counts requests per tenant, model and version, then starts a new interval", () => {
		const summaries = new PredictionSummaries("w1", new Date(0));
		for (let i = 0; i < 1000; i++) summaries.record(TENANT, "m", "1.0.0", null);
		summaries.record(TENANT, "m", "1.0.0", "DEADLINE_EXCEEDED");
		summaries.record(TENANT, "m", null, "NOT_FOUND");
		const drained = summaries.drain(new Date(60_000));
		expect(drained).toEqual([
			{
				nodeID: "w1",
				tenant: TENANT,
				model: "m",
				version: "1.0.0",
				from: "1970-01-01T00:00:00.000Z",
				to: "1970-01-01T00:01:00.000Z",
				requests: 1001,
				completed: 1000,
				failed: 1,
				failures: { DEADLINE_EXCEEDED: 1 },
			},
			expect.objectContaining({ version: null, requests: 1, failed: 1 }),
		]);
		expect(summaries.drain(new Date(120_000))).toEqual([]);
	});
});
