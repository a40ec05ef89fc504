import type { FleetNode } from "../../../lib/fleet/node-inventory";
import type { NodeStatus } from "../../../lib/fleet/node-status";
import { ALL_OF_THE_FLEET, fleetNodesFor, isTenantsModelKey } from "../../../lib/fleet/node-view";
import { routingTableFor, type RoutingTable } from "../../../lib/routing/routing-table";

const A = "0b7c9a52-0000-4000-8000-00000000000a";
const B = "0b7c9a52-0000-4000-8000-00000000000b";

const STATUS: NodeStatus = {
	nodeID: "w1",
	at: 1000,
	uptimeS: 5,
	cpuLoad: 0.25,
	memoryFreeBytes: 1e9,
	processRssBytes: 2e8,
	eventLoopDelayMs: 1,
	inFlight: 7,
	gpus: [],
	serving: {
		modelsLoaded: 3,
		modelBytes: 600,
		activeRequests: 9,
		cacheHitRatio: 0.5,
		models: [
			{ key: `${A}/secret-model@1.0.0`, pinned: true, active: 4, ongoing: 3.5, bytes: 100 },
			{ key: `${A}/other@2.0.0`, pinned: false, active: 3, ongoing: 2, bytes: 200 },
			{ key: `${B}/mine@1.0.0`, pinned: true, active: 2, ongoing: 1, bytes: 300 },
		],
	},
	calls: [
		{ nodeID: "w2", model: `${A}/secret-model`, ongoing: 2 },
		{ nodeID: "w2", model: `${B}/mine`, ongoing: 1 },
	],
};

const NODE: FleetNode = {
	nodeID: "w1",
	role: "worker",
	available: true,
	unavailableReason: null,
	hostname: "w1.host",
	version: "0.1.0",
	startedAt: "2026-01-01T00:00:00.000Z",
	capacity: { cpus: 4, memoryBytes: 8e9, gpus: [], gpuSource: "none", runtimes: [] },
	services: ["predictor"],
	httpUrl: null,
	metricsUrl: null,
	lastSeenAt: "2026-01-01T00:00:01.000Z",
	status: STATUS,
};

describe("fleetNodesFor", () => {
	it("shows a tenant only its own loaded models, calls and model totals", () => {
		const [shown] = fleetNodesFor([NODE], { all: false, tenant: B });
		expect(shown.status!.serving).toEqual({
			modelsLoaded: 1,
			modelBytes: 300,
			activeRequests: 2,
			cacheHitRatio: 0.5,
			models: [STATUS.serving!.models[2]],
		});
		expect(shown.status!.calls).toEqual([STATUS.calls![1]]);
		// Nothing of tenant A's is named anywhere in B's view.
		expect(JSON.stringify(shown)).not.toContain(A);
		expect(JSON.stringify(shown)).not.toContain("secret-model");
		// Node-wide figures that name no model stay.
		expect(shown.status).toMatchObject({ cpuLoad: 0.25, inFlight: 7, memoryFreeBytes: 1e9 });
		expect(shown.capacity).toEqual(NODE.capacity);
	});

	it("shows an admin (and the fleet itself) every model, unchanged", () => {
		expect(fleetNodesFor([NODE], ALL_OF_THE_FLEET)).toEqual([NODE]);
	});

	it("leaves the nodes it is given as they were, and nodes without status as they are", () => {
		const silent: FleetNode = { ...NODE, nodeID: "c1", status: null };
		const shown = fleetNodesFor([NODE, silent], { all: false, tenant: B });
		expect(shown[1]).toEqual(silent);
		expect(NODE.status!.serving!.models).toHaveLength(3);
		expect(NODE.status!.calls).toHaveLength(2);
	});

	it("does not take a tenant whose ID begins another's for it", () => {
		expect(isTenantsModelKey(`${A}/m@1`, A)).toBe(true);
		expect(isTenantsModelKey(`${A}x/m@1`, A)).toBe(false);
		expect(isTenantsModelKey(`${A}/m`, A.slice(0, 10))).toBe(false);
	});
});

describe("routingTableFor", () => {
	const table: RoutingTable = {
		deployments: [
			{
				deploymentId: "d1",
				tenant: A,
				model: "secret-model",
				traffic: [{ version: "1.0.0", weight: 100 }],
				shadow: null,
				replicas: ["w1"],
			},
			{
				deploymentId: "d2",
				tenant: B,
				model: "mine",
				traffic: [{ version: "1.0.0", weight: 100 }],
				shadow: null,
				replicas: ["w1"],
			},
		],
	};

	it("keeps a tenant's own deployments only; an admin sees them all", () => {
		expect(routingTableFor(table, { all: false, tenant: B }).deployments).toEqual([
			table.deployments[1],
		]);
		expect(routingTableFor(table, ALL_OF_THE_FLEET)).toEqual(table);
	});
});
