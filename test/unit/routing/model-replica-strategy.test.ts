import { FleetView } from "../../../lib/routing/fleet-view";
import { selectEndpoint } from "../../../lib/routing/model-replica-strategy";
import type { NodeStatus } from "../../../lib/fleet/node-status";

const NOW = 1_000_000;
const GiB = 1024 ** 3;

function status(
	nodeID: string,
	activeRequests: number,
	models: Array<{ key: string; pinned: boolean; active: number; bytes: number }> = [],
): NodeStatus {
	return {
		nodeID,
		at: NOW - 100,
		uptimeS: 1,
		cpuLoad: 0,
		memoryFreeBytes: 0,
		processRssBytes: 0,
		eventLoopDelayMs: 0,
		inFlight: 0,
		gpus: [],
		serving: {
			modelsLoaded: models.length,
			modelBytes: 0,
			activeRequests,
			cacheHitRatio: 1,
			models: models.map(m => ({ ...m, ongoing: m.active })),
		},
	};
}

const endpoints = (...ids: string[]) => ids.map(id => ({ id }));
const first = () => 0;

describe("selectEndpoint (the ModelReplica strategy)", () => {
	it("sends a deployed model's requests only to nodes with a ready replica, the least loaded", () => {
		const view = new FleetView();
		view.setTable({
			deployments: [
				{
					deploymentId: "d",
					tenant: "t",
					model: "mlp",
					traffic: [{ version: "1.0.0", weight: 100 }],
					shadow: null,
					replicas: ["b", "c"],
				},
			],
		});
		view.recordStatus(status("a", 0));
		view.recordStatus(
			status("b", 9, [{ key: "t/mlp@1.0.0", pinned: true, active: 9, bytes: 1 }]),
		);
		view.recordStatus(
			status("c", 1, [{ key: "t/mlp@1.0.0", pinned: true, active: 1, bytes: 1 }]),
		);
		const list = endpoints("a", "b", "c");
		for (let i = 0; i < 20; i++) {
			expect(
				selectEndpoint(view, list, "t", { model: "mlp", version: "1.0.0" }, NOW).id,
			).toBe("c");
		}
		// The caller's own calls in flight count too.
		for (let i = 0; i < 10; i++) view.begin("c");
		expect(selectEndpoint(view, list, "t", { model: "mlp" }, NOW).id).toBe("b");
	});

	it("uses another tenant's deployment of the same name never", () => {
		const view = new FleetView();
		view.setTable({
			deployments: [
				{
					deploymentId: "d",
					tenant: "other",
					model: "mlp",
					traffic: [{ version: "1.0.0", weight: 100 }],
					shadow: null,
					replicas: ["b"],
				},
			],
		});
		view.recordStatus(status("a", 0));
		view.recordStatus(status("b", 5));
		expect(
			selectEndpoint(view, endpoints("a", "b"), "t", { model: "mlp" }, NOW, () => null, first)
				.id,
		).toBe("a");
	});

	it("falls back to the other predictors when no replica node is reachable", () => {
		const view = new FleetView();
		view.setTable({
			deployments: [
				{
					deploymentId: "d",
					tenant: "t",
					model: "mlp",
					traffic: [{ version: "1.0.0", weight: 100 }],
					shadow: null,
					replicas: ["gone"],
				},
			],
		});
		expect(["a", "b"]).toContain(
			selectEndpoint(view, endpoints("a", "b"), "t", { model: "mlp" }, NOW).id,
		);
	});

	it("loads a model without deployment where it already is, and never where pinned models fill the memory", () => {
		const view = new FleetView();
		view.recordStatus(
			status("full", 0, [{ key: "t/big@1.0.0", pinned: true, active: 0, bytes: 4 * GiB }]),
		);
		view.recordStatus(
			status("busy", 6, [{ key: "t/tail@2.0.0", pinned: false, active: 6, bytes: GiB }]),
		);
		view.recordStatus(status("idle", 0));
		const memory = () => 4 * GiB;
		const list = endpoints("full", "busy", "idle");
		// A version of "tail" is loaded on busy: a cache hit beats an idle node that would load it.
		expect(selectEndpoint(view, list, "t", { model: "tail" }, NOW, memory, first).id).toBe(
			"busy",
		);
		// Any other model: never the node whose memory is all pinned, even though it is idle.
		for (let i = 0; i < 20; i++) {
			expect(selectEndpoint(view, list, "t", { model: "new" }, NOW, memory).id).not.toBe(
				"full",
			);
		}
		expect(selectEndpoint(view, list, "t", { model: "new" }, NOW, memory).id).toBe("idle");
	});
});

describe("FleetView caller load", () => {
	it("reports this node's calls in flight per predictor node and model, averaged", () => {
		// A clock of the test's own: on a loaded machine even a call ended "at once" took a
		// millisecond now and then, and showed in the average.
		let clock = 5000;
		const view = new FleetView(() => clock);
		view.begin("w1", "t/mlp");
		view.begin("w1", "t/mlp");
		view.begin("w2", "t/other");
		view.end("w2", "t/other");
		clock += 100;
		const load = view.callerLoad();
		// Two calls held for 0.1 s of a one-second average; a call that ended at once left nothing.
		expect(load.map(l => `${l.nodeID} ${l.model}`)).toEqual(["w1 t/mlp"]);
		expect(load[0].ongoing).toBeGreaterThan(0.1);
		expect(load[0].ongoing).toBeLessThan(0.5);
		expect(view.localInFlight("w1")).toBe(2);
		expect(view.localInFlight("w2")).toBe(0);
	});
});
