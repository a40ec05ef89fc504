import type { FleetNode } from "../../../lib/fleet/node-inventory";
import { callerOngoingByModel } from "../../../lib/scheduler/caller-load";

const gateway = (
	available: boolean,
	calls: Array<{ nodeID: string; model: string; ongoing: number }>,
) => ({ available, status: { calls } }) as unknown as FleetNode;

describe("callerOngoingByModel", () => {
	it("sums every live caller's calls in flight per model, across predictor nodes", () => {
		const sums = callerOngoingByModel([
			gateway(true, [
				{ nodeID: "w1", model: "t/mlp", ongoing: 1.5 },
				{ nodeID: "w2", model: "t/mlp", ongoing: 0.5 },
				{ nodeID: "w1", model: "t/iris", ongoing: 1 },
			]),
			gateway(true, [{ nodeID: "w2", model: "t/mlp", ongoing: 2 }]),
			gateway(false, [{ nodeID: "w1", model: "t/mlp", ongoing: 100 }]),
			{ available: true, status: null } as unknown as FleetNode,
		]);
		expect(Object.fromEntries(sums)).toEqual({ "t/mlp": 4, "t/iris": 1 });
	});
});
