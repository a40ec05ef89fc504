/** Triton's statistics as a node counts them, and as a fleet adds them up. */
import {
	ModelStatistics,
	countServed,
	countingQueueHooks,
	emptyModelStat,
	mergeModelStats,
} from "../../../lib/predictor/model-statistics";

describe("ModelStatistics", () => {
	it("counts requests, rows, queue time, runs per batch size and failures, per tenant", () => {
		let now = 1000;
		const stats = new ModelStatistics(100, () => now);
		const served = countServed(stats);
		const hooks = countingQueueHooks({}, stats, "t1", "mlp", "1.0.0");
		hooks.requestDequeued?.({ queueMs: 0.5, outcome: "run" });
		hooks.requestDequeued?.({ queueMs: 1.5, outcome: "run" });
		hooks.batchCompleted?.({ requests: 2, rows: 3, computeMs: 2, failed: false });
		hooks.batchCompleted?.({ requests: 1, rows: 1, computeMs: 9, failed: true });
		served({
			tenant: "t1",
			model: "mlp",
			version: "1.0.0",
			ok: true,
			totalMs: 4,
			rows: 1,
			timing: { inputMs: 0.25, outputMs: 0.125 },
		});
		now = 2000;
		served({
			tenant: "t1",
			model: "mlp",
			version: "1.0.0",
			ok: true,
			totalMs: 5,
			rows: 2,
			timing: { inputMs: 0.25, outputMs: 0.125 },
		});
		served({
			tenant: "t1",
			model: "mlp",
			version: "1.0.0",
			ok: false,
			totalMs: 1,
			rows: 0,
			timing: { inputMs: 0, outputMs: 0 },
		});
		stats.succeeded("t2", "mlp", "1.0.0", { rows: 7, totalMs: 1, inputMs: 0, outputMs: 0 });

		const [stat] = stats.snapshot("t1");
		expect(stat).toEqual({
			name: "mlp",
			version: "1.0.0",
			last_inference: 2000,
			inference_count: 3,
			execution_count: 1,
			inference_stats: {
				success: { count: 2, ns: 9e6 },
				fail: { count: 1, ns: 1e6 },
				queue: { count: 2, ns: 2e6 },
				compute_input: { count: 2, ns: 0.5e6 },
				compute_infer: { count: 2, ns: 4e6 },
				compute_output: { count: 2, ns: 0.25e6 },
				cache_hit: { count: 0, ns: 0 },
				cache_miss: { count: 0, ns: 0 },
			},
			batch_stats: [
				{
					batch_size: 3,
					compute_input: { count: 1, ns: 0 },
					compute_infer: { count: 1, ns: 2e6 },
					compute_output: { count: 1, ns: 0 },
				},
			],
		});
		expect(stats.snapshot("t2")[0].inference_count).toBe(7);
		expect(stats.snapshot("t1", { model: "other" })).toEqual([]);
		expect(stats.snapshot("t1", { model: "mlp", version: "2.0.0" })).toEqual([]);
		// A snapshot is a copy: counting goes on without changing what was answered.
		stats.succeeded("t1", "mlp", "1.0.0", { rows: 1, totalMs: 1, inputMs: 0, outputMs: 0 });
		expect(stat.inference_count).toBe(3);
	});

	it("keeps at most maxEntries versions, dropping the oldest", () => {
		const stats = new ModelStatistics(2);
		for (const v of ["1.0.0", "2.0.0", "3.0.0"]) stats.failed("t", "m", v, 1);
		expect(stats.snapshot("t").map(s => s.version)).toEqual(["2.0.0", "3.0.0"]);
	});

	it("adds up several nodes' entries per model and version", () => {
		const a = new ModelStatistics(10, () => 5);
		const b = new ModelStatistics(10, () => 9);
		for (const node of [a, b]) {
			node.succeeded("t", "m", "1.0.0", { rows: 2, totalMs: 1, inputMs: 0, outputMs: 0 });
			node.executed("t", "m", "1.0.0", { requests: 1, rows: 2, computeMs: 1, failed: false });
		}
		b.failed("t", "n", "1.0.0", 1);
		const merged = mergeModelStats([
			a.snapshot("t"),
			b.snapshot("t"),
			[emptyModelStat("m", "2.0.0")],
		]);
		expect(merged.map(s => [s.name, s.version])).toEqual([
			["m", "1.0.0"],
			["m", "2.0.0"],
			["n", "1.0.0"],
		]);
		expect(merged[0]).toMatchObject({
			last_inference: 9,
			inference_count: 4,
			execution_count: 2,
			inference_stats: { success: { count: 2, ns: 2e6 }, compute_infer: { count: 2 } },
			batch_stats: [{ batch_size: 2, compute_infer: { count: 2, ns: 2e6 } }],
		});
		expect(merged[1].inference_count).toBe(0);
	});
});
