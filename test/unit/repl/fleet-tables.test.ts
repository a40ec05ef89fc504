import { resolveMonitoring } from "../../../lib/monitoring/monitoring-spec";
import type { JobView } from "../../../lib/scheduler/job-store";
import type { FleetNode } from "../../../lib/fleet/node-inventory";
import {
	deploymentsTable,
	formatBytes,
	formatValues,
	jobsTable,
	modelsTable,
	nodesTable,
	placementsTable,
	predictionLines,
	readJobs,
} from "../../../lib/repl/fleet-tables";
import type { ModelView } from "../../../lib/registry/model-store";
import type { RoutingTable } from "../../../lib/routing/routing-table";
import { DEFAULT_RESOURCES } from "../../../lib/scheduler/deployment-spec";
import type { DeploymentView } from "../../../lib/scheduler/deployment-store";

const GiB = 1024 ** 3;

function node(id: string, overrides: Partial<FleetNode> = {}): FleetNode {
	return {
		nodeID: id,
		role: "worker",
		available: true,
		unavailableReason: null,
		hostname: "host",
		version: "0.1.0",
		startedAt: "2026-01-01T00:00:00.000Z",
		capacity: { cpus: 4, memoryBytes: 8 * GiB, gpus: [], gpuSource: "none", runtimes: [] },
		services: ["agent", "predictor"],
		httpUrl: null,
		metricsUrl: null,
		lastSeenAt: null,
		status: null,
		...overrides,
	};
}

const gpu = {
	index: 0,
	name: "NVIDIA L4",
	uuid: null,
	memoryTotalBytes: 24 * GiB,
	memoryUsedBytes: 0,
	memoryFreeBytes: 24 * GiB,
	utilizationPercent: 0,
	computeCapability: "8.9",
	driverVersion: null,
};

describe("formatBytes", () => {
	it("picks the unit a person reads", () => {
		expect(formatBytes(512)).toBe("512 B");
		expect(formatBytes(64 * 1024 ** 2)).toBe("64.0 MiB");
		expect(formatBytes(7.8 * GiB)).toBe("7.8 GiB");
		expect(formatBytes(null)).toBe("?");
	});
});

describe("nodesTable", () => {
	it("shows each node's role, cores, memory, GPUs with free memory, load, replicas and state", () => {
		const placements: RoutingTable = {
			deployments: [
				{
					deploymentId: "d1",
					tenant: "t",
					model: "a",
					traffic: [],
					shadow: null,
					replicas: ["gpu-1", "cpu-1"],
				},
				{
					deploymentId: "d2",
					tenant: "t",
					model: "b",
					traffic: [],
					shadow: null,
					replicas: ["gpu-1"],
				},
			],
		};
		const lines = nodesTable(
			[
				node("control-1", { role: "control", services: ["agent", "scheduler"] }),
				node("cpu-1", { available: false, unavailableReason: "no heartbeat for 20 s" }),
				node("gpu-1", {
					capacity: {
						cpus: 32,
						memoryBytes: 256 * GiB,
						gpus: [gpu],
						gpuSource: "declared",
						runtimes: [],
					},
					status: {
						nodeID: "gpu-1",
						at: 0,
						uptimeS: 1,
						cpuLoad: 0.5,
						memoryFreeBytes: 0,
						processRssBytes: 0,
						eventLoopDelayMs: 0,
						inFlight: 3,
						gpus: [
							{
								index: 0,
								memoryFreeBytes: 20 * GiB,
								memoryUsedBytes: 4 * GiB,
								utilizationPercent: 10,
							},
						],
						serving: {
							modelsLoaded: 2,
							modelBytes: 0,
							activeRequests: 3,
							cacheHitRatio: 1,
							models: [],
						},
					},
				}),
			],
			placements,
		);
		expect(lines).toEqual([
			"NODE       ROLE     CORES     MEMORY  GPUS                                    LOAD                REPLICAS  STATE",
			"control-1  control      4    8.0 GiB  -                                       -                          -  up",
			"cpu-1      worker       4    8.0 GiB  -                                       -                          1  down (no heartbeat for 20 s)",
			"gpu-1      worker      32  256.0 GiB  #0 NVIDIA L4 20.0 GiB free of 24.0 GiB  cpu 0.50, 3 active         2  up",
		]);
	});
});

describe("modelsTable", () => {
	const model = (name: string): ModelView => ({
		id: name,
		name,
		description: "",
		task: "classification",
		framework: "onnx",
		tags: {},
		createdAt: "",
		updatedAt: "",
	});

	it("lists models with their newest versions and states", () => {
		expect(
			modelsTable([
				{
					model: model("mlp"),
					versions: [
						{ version: "2.0.0", state: "Validated" },
						{ version: "1.0.0", state: "Deployed" },
					],
				},
				{ model: model("empty"), versions: [] },
				{ model: model("hidden"), versions: null },
			]),
		).toEqual([
			"MODEL   TASK            FRAMEWORK  VERSIONS",
			"mlp     classification  onnx       2.0.0 Validated, 1.0.0 Deployed",
			"empty   classification  onnx       -",
			"hidden  classification  onnx       ?",
		]);
	});
});

function deployment(overrides: Partial<DeploymentView> = {}): DeploymentView {
	return {
		id: "d1",
		tenantId: "t1",
		modelId: "m1",
		model: "mlp",
		replicas: 2,
		minReplicas: 2,
		maxReplicas: 2,
		resources: DEFAULT_RESOURCES,
		batching: {},
		autoscaling: null,
		traffic: [{ versionId: "v1", version: "1.0.0", weight: 100 }],
		shadow: null,
		previousTraffic: null,
		monitoring: resolveMonitoring(undefined),
		status: "running",
		statusReason: null,
		createdAt: "",
		updatedAt: "",
		placements: [],
		readyReplicas: 2,
		...overrides,
	};
}

describe("deploymentsTable", () => {
	it("shows versions with weights, replicas, ready, status with its reason, and resources", () => {
		expect(
			deploymentsTable([
				deployment(),
				deployment({
					model: "big",
					traffic: [
						{ versionId: "v1", version: "1.0.0", weight: 90 },
						{ versionId: "v2", version: "2.0.0", weight: 10 },
					],
					shadow: { versionId: "v3", version: "3.0.0" },
					autoscaling: {
						targetOngoingRequests: 2,
						upscaleDelayS: 3,
						downscaleDelayS: 30,
					},
					minReplicas: 1,
					maxReplicas: 4,
					replicas: 1,
					readyReplicas: 0,
					status: "pending",
					statusReason: "no node with a free GPU",
					resources: { memoryBytes: GiB, cpu: 0, gpus: 1, gpuMemoryBytes: 0 },
				}),
			]),
		).toEqual([
			"DEPLOYMENT  VERSIONS                            REPLICAS             READY  STATUS                            RESOURCES",
			"mlp         1.0.0 100%                          2                        2  running                           -",
			"big         1.0.0 90%, 2.0.0 10%, shadow 3.0.0  1 (1-4, autoscaled)      0  pending: no node with a free GPU  1 GPU, 1.0 GiB",
		]);
	});
});

describe("placementsTable", () => {
	it("lists deployments by tenant name with their ready nodes", () => {
		const names = new Map([["t1", "default"]]);
		expect(
			placementsTable(
				[
					{
						deploymentId: "2",
						tenant: "t1",
						model: "zeta",
						traffic: [{ version: "1.0.0", weight: 100 }],
						shadow: null,
						replicas: ["w2", "w1"],
					},
					{
						deploymentId: "1",
						tenant: "t9",
						model: "alpha",
						traffic: [{ version: "2.0.0", weight: 100 }],
						shadow: null,
						replicas: [],
					},
					{
						deploymentId: "3",
						tenant: "t1",
						model: "beta",
						traffic: [{ version: "1.0.0", weight: 100 }],
						shadow: null,
						replicas: ["w1"],
					},
				],
				id => names.get(id) ?? id,
			),
		).toEqual([
			"DEPLOYMENT  TENANT   VERSIONS    READY  NODES",
			"beta        default  1.0.0 100%      1  w1",
			"zeta        default  1.0.0 100%      2  w1, w2",
			"alpha       t9       2.0.0 100%      0  -",
		]);
	});
});

describe("predictionLines", () => {
	it("names the version and node that answered, then each output compactly", () => {
		expect(
			predictionLines(
				{
					modelName: "mlp",
					modelVersion: "1.0.0",
					executionProvider: "cpu",
					outputs: [
						{
							name: "logits",
							datatype: "FP32",
							shape: [2, 2],
							data: Float32Array.from([0.75, 4, -0.25, 2]),
						},
						{ name: "label", datatype: "BYTES", shape: [1], data: ["cat"] },
						{
							name: "ids",
							datatype: "INT64",
							shape: [1],
							data: BigInt64Array.from([7n]),
						},
					],
				},
				"worker-1",
			),
		).toEqual([
			"mlp@1.0.0 (node worker-1, cpu)",
			"OUTPUT  DATATYPE  SHAPE   DATA",
			"logits  FP32      [2, 2]  [0.75, 4, -0.25, 2]",
			'label   BYTES     [1]     ["cat"]',
			"ids     INT64     [1]     [7]",
		]);
	});

	it("cuts long outputs, saying how many values are left out", () => {
		const data = Float64Array.from({ length: 20 }, (_, i) => i / 3);
		expect(formatValues(data)).toBe(
			"[0, 0.3333, 0.6667, 1, 1.333, 1.667, 2, 2.333, 2.667, 3, 3.333, 3.667, … 8 more]",
		);
	});
});

describe("readJobs and jobsTable", () => {
	const job = (over: Partial<JobView>): JobView => ({
		id: "j",
		model: "mlp",
		datasetId: "d",
		state: "queued",
		priority: 0,
		gpu: false,
		nodeID: null,
		attempts: 0,
		failures: [],
		epoch: 0,
		checkpoint: null,
		progress: [],
		backend: null,
		result: null,
		error: null,
		waitingReason: null,
		spec: { epochs: 10 },
		createdAt: "",
		startedAt: null,
		finishedAt: null,
		deadlineAt: null,
		...over,
	});

	it("shows each job's state (and why it waits), epoch of epochs, last loss and node", () => {
		const jobs = readJobs({
			items: [
				job({
					id: "j1",
					state: "running",
					epoch: 3,
					nodeID: "w1",
					progress: [
						{
							epoch: 2,
							metrics: { loss: 0.5 },
							samplesPerSecond: 1,
							etaMs: 1,
							nodeID: "w1",
							at: "",
						},
						{
							epoch: 3,
							metrics: { loss: 0.123456 },
							samplesPerSecond: 1,
							etaMs: 1,
							nodeID: "w1",
							at: "",
						},
					],
				}),
				job({ id: "j2", model: "iris", waitingReason: "no trainer with a GPU" }),
			],
		});
		expect(jobsTable(jobs)).toEqual([
			"ID  MODEL  STATE                           EPOCH    LOSS  NODE",
			"j1  mlp    running                          3/10  0.1235  w1",
			"j2  iris   queued (no trainer with a GPU)   0/10       -  -",
		]);
	});

	it("shows an optimization job's recipe and its progress in percent", () => {
		const jobs = readJobs([
			job({
				id: "o1",
				state: "running",
				epoch: 45,
				nodeID: "w2",
				spec: { kind: "optimize", recipe: "int8-static" },
			}),
		]);
		expect(jobsTable(jobs)).toEqual([
			"ID  MODEL              STATE    EPOCH  LOSS  NODE",
			"o1  mlp (int8-static)  running    45%     -  w2",
		]);
	});
});
