import { LostNodes, forgetCheckIntervalMs } from "../../../lib/fleet/lost-nodes";

const up = (id: string) => ({ id, available: true, local: false });
const down = (id: string) => ({ id, available: false, local: false });

describe("LostNodes", () => {
	it("makes a node due once it has been lost for the forget time", () => {
		const lost = new LostNodes(2000);
		lost.lost("w1", 1000);
		expect(lost.due([up("g1"), down("w1")], 2999)).toEqual([]);
		expect(lost.due([up("g1"), down("w1")], 3000)).toEqual(["w1"]);
	});

	it("keeps the first loss when the node is reported lost again", () => {
		const lost = new LostNodes(2000);
		lost.lost("w1", 1000);
		lost.lost("w1", 2500);
		expect(lost.due([down("w1")], 3000)).toEqual(["w1"]);
	});

	it("forgets nothing of a node that came back, and starts over when it is lost again", () => {
		const lost = new LostNodes(2000);
		lost.lost("w1", 0);
		expect(lost.due([up("w1")], 5000)).toEqual([]);
		lost.lost("w1", 6000);
		expect(lost.due([down("w1")], 7000)).toEqual([]);
		expect(lost.due([down("w1")], 8000)).toEqual(["w1"]);
	});

	it("starts the wait for an unavailable node it never saw leave", () => {
		const lost = new LostNodes(2000);
		expect(lost.due([down("w1")], 10_000)).toEqual([]);
		expect(lost.due([down("w1")], 12_000)).toEqual(["w1"]);
	});

	it("never makes the local node due, nor any node with forgetting by time off", () => {
		const lost = new LostNodes(2000);
		lost.lost("me", 0);
		expect(lost.due([{ id: "me", available: false, local: true }], 10_000)).toEqual([]);
		const never = new LostNodes(0);
		never.lost("w1", 0);
		expect(never.due([down("w1")], 1e12)).toEqual([]);
	});

	it("drops the record of a node the registry no longer holds", () => {
		const lost = new LostNodes(2000);
		lost.lost("w1", 0);
		expect(lost.due([], 1000)).toEqual([]);
		// Seen again, unavailable: its wait starts over.
		expect(lost.due([down("w1")], 5000)).toEqual([]);
	});
});

describe("forgetCheckIntervalMs", () => {
	it("looks four times per forget time, between 100 ms and 30 s", () => {
		expect(forgetCheckIntervalMs(2000)).toBe(500);
		expect(forgetCheckIntervalMs(100)).toBe(100);
		expect(forgetCheckIntervalMs(3_600_000)).toBe(30_000);
	});
});
