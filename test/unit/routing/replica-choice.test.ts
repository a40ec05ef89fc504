import {
	chooseReplica,
	replicaLoad,
	STALE_REPORT_MS,
	type ReplicaLoad,
} from "../../../lib/routing/replica-choice";

const NOW = 100_000;

function replica(nodeID: string, overrides: Partial<ReplicaLoad> = {}): ReplicaLoad {
	return { nodeID, reportedActive: 0, reportedAt: NOW, localInFlight: 0, ...overrides };
}

/** A seeded generator (mulberry32), so the tie splits are the same on every run. */
function seeded(seed: number): () => number {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

describe("replicaLoad", () => {
	it("adds this caller's in-flight calls to the node's reported load", () => {
		expect(replicaLoad(replica("a", { reportedActive: 3, localInFlight: 2 }), NOW)).toBe(5);
	});

	it("counts a report older than 5 s as 0, and one exactly 5 s old as fresh", () => {
		const old = replica("a", { reportedActive: 9, localInFlight: 1 });
		expect(replicaLoad({ ...old, reportedAt: NOW - STALE_REPORT_MS }, NOW)).toBe(10);
		expect(replicaLoad({ ...old, reportedAt: NOW - STALE_REPORT_MS - 1 }, NOW)).toBe(1);
		expect(STALE_REPORT_MS).toBe(5_000);
	});

	it("trusts a report stamped ahead of this clock (clock skew)", () => {
		expect(replicaLoad(replica("a", { reportedActive: 4, reportedAt: NOW + 2_000 }), NOW)).toBe(
			4,
		);
	});

	it("counts negative or non-numeric figures as 0", () => {
		expect(
			replicaLoad(replica("a", { reportedActive: -3, localInFlight: Number.NaN }), NOW),
		).toBe(0);
	});
});

describe("chooseReplica", () => {
	it("returns null when there is no candidate", () => {
		expect(chooseReplica([], NOW)).toBeNull();
	});

	it("returns the only candidate, however loaded", () => {
		expect(chooseReplica([replica("a", { reportedActive: 1_000 })], NOW)).toBe("a");
	});

	it("picks the least loaded by reported + local in-flight", () => {
		const candidates = [
			replica("a", { reportedActive: 5 }),
			replica("b", { reportedActive: 1, localInFlight: 3 }),
			replica("c", { reportedActive: 2, localInFlight: 1 }),
		];
		expect(chooseReplica(candidates, NOW, () => 0)).toBe("c");
	});

	it("counts its own in-flight calls, so a burst between reports does not pile on one node", () => {
		const candidates = [
			replica("a", { reportedActive: 0, localInFlight: 4 }),
			replica("b", { reportedActive: 2, localInFlight: 0 }),
		];
		expect(chooseReplica(candidates, NOW, () => 0)).toBe("b");
	});

	it("ignores a stale report: a node that reported busy long ago counts as idle", () => {
		const candidates = [
			replica("busy-long-ago", { reportedActive: 50, reportedAt: NOW - 6_000 }),
			replica("fresh", { reportedActive: 1 }),
		];
		expect(chooseReplica(candidates, NOW, () => 0)).toBe("busy-long-ago");
	});

	it("breaks ties with random() among the least loaded only", () => {
		const candidates = [
			replica("a", { reportedActive: 1 }),
			replica("b", { reportedActive: 3 }),
			replica("c", { reportedActive: 1 }),
		];
		expect(chooseReplica(candidates, NOW, () => 0)).toBe("a");
		expect(chooseReplica(candidates, NOW, () => 0.75)).toBe("c");
		// random() returning 1 (out of contract) still picks a tied candidate.
		expect(chooseReplica(candidates, NOW, () => 1)).toBe("c");
		expect(chooseReplica(candidates, NOW, () => Number.NaN)).toBe("a");
	});

	it("splits 1,000 picks over two idle replicas near 50/50", () => {
		const random = seeded(7);
		const candidates = [replica("a"), replica("b")];
		let a = 0;
		for (let i = 0; i < 1_000; i++) if (chooseReplica(candidates, NOW, random) === "a") a++;
		expect(a).toBeGreaterThanOrEqual(450);
		expect(a).toBeLessThanOrEqual(550);
	});

	it("with Math.random as the default, still shares ties between replicas", () => {
		const candidates = [replica("a"), replica("b"), replica("c")];
		const picked = new Set<string | null>();
		for (let i = 0; i < 300; i++) picked.add(chooseReplica(candidates, NOW));
		expect(picked).toEqual(new Set(["a", "b", "c"]));
	});

	it("takes the staleness limit as an option", () => {
		const candidates = [
			replica("a", { reportedActive: 10, reportedAt: NOW - 2_000 }),
			replica("b", { reportedActive: 1 }),
		];
		expect(chooseReplica(candidates, NOW, () => 0)).toBe("b");
		expect(chooseReplica(candidates, NOW, () => 0, 1_000)).toBe("a");
	});
});
