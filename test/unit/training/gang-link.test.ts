import { contribution } from "../../../lib/training/data-parallel";
import { GangLink } from "../../../lib/training/gang-link";

const TIMEOUTS = { firstStepMs: 5_000, stepMs: 5_000 };
const vector = (g: number) => contribution([Float32Array.from([g])], 1, 0, 0);
const noCalls = {
	sendToRankZero: () => Promise.reject(new Error("rank 0 sends nothing")),
};

describe("GangLink", () => {
	it("rank 0 collects every rank's step; a rank ≥ 1 gets rank 0's answer", async () => {
		const zero = new GangLink({ rank: 0, nodes: ["w0", "w1"] }, noCalls, TIMEOUTS);
		const sent: Array<[string, number]> = [];
		const one = new GangLink(
			{ rank: 1, nodes: ["w0", "w1"] },
			{
				sendToRankZero: (nodeID, step, v) => {
					sent.push([nodeID, step]);
					return zero.rendezvous!.contribute(step, 1, v);
				},
			},
			TIMEOUTS,
		);
		const [a, b] = await Promise.all([zero.exchange(0, vector(2)), one.exchange(0, vector(4))]);
		expect(Array.from(a)).toEqual([3, 0, 0, 2]);
		expect(b).toBe(a);
		expect(sent).toEqual([["w0", 0]]);
		expect(one.rendezvous).toBeNull();
	});

	it("rank 0 names the rank that sent nothing in time, or whose node left", async () => {
		const slow = new GangLink({ rank: 0, nodes: ["w0", "w1", "w2"] }, noCalls, {
			firstStepMs: 50,
			stepMs: 50,
		});
		const late = slow.exchange(0, vector(1));
		void slow.rendezvous!.contribute(0, 1, vector(1)).catch(() => undefined);
		await expect(late).rejects.toThrow(/rank 2 sent no gradients within 50 ms/);
		expect(slow.lostNode()).toBe("w2");

		const zero = new GangLink({ rank: 0, nodes: ["w0", "w1"] }, noCalls, TIMEOUTS);
		const waiting = zero.exchange(0, vector(1));
		zero.nodeLeft("elsewhere");
		zero.nodeLeft("w1");
		await expect(waiting).rejects.toThrow(/rank 1's node w1 left the fleet/);
		expect(zero.lostNode()).toBe("w1");
	});

	it("a rank ≥ 1 blames rank 0 when its node leaves or stops answering, not for rank 0's own refusal", async () => {
		const hanging = new GangLink(
			{ rank: 1, nodes: ["w0", "w1"] },
			{ sendToRankZero: () => new Promise(() => undefined) },
			TIMEOUTS,
		);
		const waiting = hanging.exchange(3, vector(1));
		hanging.nodeLeft("w0");
		await expect(waiting).rejects.toThrow(/rank 0's node w0 left/);
		expect(hanging.lostNode()).toBe("w0");

		const timeout = Object.assign(new Error("Request timed out"), {
			name: "RequestTimeoutError",
		});
		const silent = new GangLink(
			{ rank: 1, nodes: ["w0", "w1"] },
			{ sendToRankZero: () => Promise.reject(timeout) },
			TIMEOUTS,
		);
		await expect(silent.exchange(0, vector(1))).rejects.toBe(timeout);
		expect(silent.lostNode()).toBe("w0");

		const refused = new GangLink(
			{ rank: 1, nodes: ["w0", "w1", "w2"] },
			{ sendToRankZero: () => Promise.reject(new Error("rank 2 sent no gradients")) },
			TIMEOUTS,
		);
		await expect(refused.exchange(0, vector(1))).rejects.toThrow(/rank 2/);
		expect(refused.lostNode()).toBeNull();
	});

	it("rank 0's close fails the steps other ranks still send", async () => {
		const zero = new GangLink({ rank: 0, nodes: ["w0", "w1"] }, noCalls, TIMEOUTS);
		zero.close("the run on rank 0 ended");
		await expect(zero.rendezvous!.contribute(0, 1, vector(1))).rejects.toThrow(/ended/);
	});
});
