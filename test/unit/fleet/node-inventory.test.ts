import { NodeInventory, type RegistryNode } from "../../../lib/fleet/node-inventory";
import { METADATA_KEY } from "../../../lib/fleet/node-metadata";
import type { NodeStatus } from "../../../lib/fleet/node-status";

const capacity = { cpus: 4, memoryBytes: 8e9, gpus: [], gpuSource: "none" as const, runtimes: [] };

function node(id: string, role: string, extra: Partial<RegistryNode> = {}): RegistryNode {
	return {
		id,
		available: true,
		local: false,
		hostname: `${id}.host`,
		metadata: {
			[METADATA_KEY]: {
				role,
				version: "0.1.0",
				startedAt: "2026-11-27T00:00:00.000Z",
				capacity,
				httpUrl: null,
				metricsUrl: null,
			},
		},
		services: ["scheduler", "agent"],
		...extra,
	};
}

function status(nodeID: string, at: number): NodeStatus {
	return {
		nodeID,
		at,
		uptimeS: 1,
		cpuLoad: 0.5,
		memoryFreeBytes: 1,
		processRssBytes: 1,
		eventLoopDelayMs: 0,
		inFlight: 2,
		gpus: [],
	};
}

describe("NodeInventory", () => {
	it("shows each modelfleet node with its role, capacity, sorted services and last status", () => {
		const inventory = new NodeInventory(3000);
		inventory.recordSeen("w1", 1000, status("w1", 1000));
		const [shown] = inventory.describe([node("w1", "worker")], 1500);
		expect(shown).toMatchObject({
			nodeID: "w1",
			role: "worker",
			available: true,
			unavailableReason: null,
			hostname: "w1.host",
			capacity,
			services: ["agent", "scheduler"],
			lastSeenAt: new Date(1000).toISOString(),
			status: { inFlight: 2 },
		});
	});

	it("leaves out nodes that are not modelfleet nodes", () => {
		const inventory = new NodeInventory(3000);
		expect(
			inventory.describe([node("x", "worker", { metadata: {} }), node("y", "toaster")], 0),
		).toEqual([]);
	});

	it("shows a remote node unavailable once nothing was heard from it for the heartbeat timeout", () => {
		const inventory = new NodeInventory(3000);
		inventory.recordSeen("w1", 10_000, status("w1", 10_000));
		const nodes = [node("w1", "worker")];
		expect(inventory.describe(nodes, 13_000)[0].available).toBe(true);
		const late = inventory.describe(nodes, 13_001)[0];
		expect(late.available).toBe(false);
		expect(late.unavailableReason).toBe("no heartbeat for 3 s");
		// The last figures stay visible for inspection.
		expect(late.status?.inFlight).toBe(2);
	});

	it("believes the registry about disconnected nodes and about its own node", () => {
		const inventory = new NodeInventory(3000);
		inventory.recordSeen("me", 0);
		const shown = inventory.describe(
			[node("gone", "worker", { available: false }), node("me", "control", { local: true })],
			60_000,
		);
		expect(shown.map(n => [n.nodeID, n.available, n.unavailableReason])).toEqual([
			["me", true, null],
			["gone", false, "disconnected"],
		]);
	});

	it("keeps the last status when a connection is recorded without figures, and forgets on request", () => {
		const inventory = new NodeInventory(3000);
		inventory.recordSeen("w1", 1, status("w1", 1));
		inventory.recordSeen("w1", 2);
		expect(inventory.describe([node("w1", "worker")], 2)[0].status?.at).toBe(1);
		inventory.forget("w1");
		expect(inventory.describe([node("w1", "worker")], 2)[0].status).toBeNull();
	});
});
