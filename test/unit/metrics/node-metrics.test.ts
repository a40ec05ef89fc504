import type { GpuInfo } from "../../../lib/capacity/gpu-info";
import { NodeMetrics, nodeMetricsOf } from "../../../lib/metrics/node-metrics";

const gpu = (over: Partial<GpuInfo>): GpuInfo => ({
	index: 0,
	name: "NVIDIA H100",
	uuid: null,
	memoryTotalBytes: 80 * 1024 ** 3,
	memoryUsedBytes: 1024 ** 3,
	memoryFreeBytes: null,
	utilizationPercent: 37,
	computeCapability: "9.0",
	driverVersion: null,
	...over,
});

describe("NodeMetrics", () => {
	it("reports nvidia-smi's GPUs in full, declared ones with what they declare", async () => {
		const metrics = new NodeMetrics();
		metrics.setGpus([
			gpu({}),
			gpu({ index: 1, name: "NVIDIA L4", utilizationPercent: null, memoryUsedBytes: null }),
		]);
		const text = (await metrics.text()).body;
		expect(text).toContain('modelfleet_gpu_utilization_ratio{gpu="0",name="NVIDIA H100"} 0.37');
		expect(text).not.toMatch(/modelfleet_gpu_utilization_ratio\{gpu="1"/);
		expect(text).not.toMatch(/modelfleet_gpu_memory_used_bytes\{gpu="1"/);
		expect(text).toMatch(
			/^modelfleet_gpu_memory_total_bytes\{gpu="1",name="NVIDIA L4"\} \d+$/m,
		);
		// A GPU that went away leaves no series behind.
		metrics.setGpus([]);
		expect((await metrics.text()).body).not.toMatch(/^modelfleet_gpu_\w+\{/m);
	});

	it("refreshes scrape-time gauges before answering, and survives a failing refresh", async () => {
		const metrics = new NodeMetrics();
		let replicas = 1;
		metrics.onScrape(async () => {
			metrics.desiredReplicas.set({ tenant: "t", model: "m" }, replicas);
		});
		metrics.onScrape(() => Promise.reject(new Error("database down")));
		expect((await metrics.text()).body).toContain(
			'modelfleet_deployment_desired_replicas{tenant="t",model="m"} 1',
		);
		replicas = 2;
		expect((await metrics.text()).body).toContain(
			'modelfleet_deployment_desired_replicas{tenant="t",model="m"} 2',
		);
	});

	it("keeps one registry per broker", () => {
		const a = {};
		expect(nodeMetricsOf(a)).toBe(nodeMetricsOf(a));
		expect(nodeMetricsOf(a)).not.toBe(nodeMetricsOf({}));
	});

	it("names counters _total, durations _seconds and sizes _bytes", async () => {
		const metrics = new NodeMetrics();
		for (const metric of await metrics.registry.getMetricsAsJSON()) {
			const { name, type } = metric as unknown as { name: string; type: string };
			expect({ name, total: name.endsWith("_total") }).toEqual({
				name,
				total: type === "counter",
			});
			if (/duration/.test(name)) expect(name).toMatch(/_seconds$/);
			if (/memory|cache_bytes/.test(name)) expect(name).toMatch(/_bytes$/);
		}
	});
});
