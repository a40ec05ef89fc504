/**
 * A node's Prometheus metrics, in one prom-client registry per broker (not prom-client's global
 * one: an all-in-one process and the tests run several brokers side by side). Names follow
 * Prometheus' conventions: `modelfleet_` prefix, `_total` on counters, base units (`_seconds`,
 * `_bytes`), snake_case labels. The inference family maps Triton's `nv_inference_*` one to one
 * (docs/operations.md has the table). Which role fills which family: the predictor (workers)
 * the inference and cache ones, the trainer (workers) the trainer ones, the scheduler (control)
 * the deployment, autoscaling and training ones, every node the GPU and process ones.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { GpuInfo } from "../capacity/gpu-info";
import { SeriesCounter, SeriesGauge, SeriesHistogram } from "./series-metrics";
import type { MetricsJson } from "./metrics-aggregation";

/** Where a prediction came from: the deployment's main version, a canary split, or a mirror. */
export type TrafficKind = "live" | "canary" | "shadow";

/** Seconds, from 100 µs to 10 s: inference is sub-millisecond on small models, seconds on big ones. */
export const SECONDS_BUCKETS = [
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
/** Model loads take from milliseconds to minutes (a large archive from the artifact store). */
const LOAD_SECONDS_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384, 65536];

const GAUGES_NAMED_TOTAL = [
	"nodejs_active_handles_total",
	"nodejs_active_requests_total",
	"nodejs_active_resources_total",
];

/** Running totals of a node's direct links (lib/fleet/direct-links.ts reports them). */
export interface DirectLinkTotals {
	open: number;
	packetsSent: number;
	packetsReceived: number;
	bytesSent: number;
	bytesReceived: number;
	refused: number;
}

const VERSION_LABELS = ["tenant", "model", "version"] as const;
const REQUEST_LABELS = ["tenant", "model", "version", "traffic"] as const;

/** Every metric a node can have; families a role does not fill show no samples. */
export class NodeMetrics {
	readonly registry = new Registry();

	// Triton's inference family (see docs/operations.md for the mapping).
	readonly requestSuccess = new SeriesCounter({
		name: "modelfleet_inference_request_success_total",
		help: "Prediction requests that succeeded (Triton: nv_inference_request_success).",
		labelNames: REQUEST_LABELS,
		registry: this.registry,
	});
	readonly requestFailure = new SeriesCounter({
		name: "modelfleet_inference_request_failure_total",
		help: "Prediction requests that failed, by error type (Triton: nv_inference_request_failure).",
		labelNames: [...REQUEST_LABELS, "reason"],
		registry: this.registry,
	});
	readonly inferenceCount = new SeriesCounter({
		name: "modelfleet_inference_count_total",
		help: "Rows inferred (Triton: nv_inference_count).",
		labelNames: REQUEST_LABELS,
		registry: this.registry,
	});
	readonly execCount = new SeriesCounter({
		name: "modelfleet_inference_exec_count_total",
		help: "Model runs, one per batch (Triton: nv_inference_exec_count).",
		labelNames: VERSION_LABELS,
		registry: this.registry,
	});
	readonly requestDuration = this.seconds(
		"modelfleet_inference_request_duration_seconds",
		"End-to-end time of prediction requests on the serving node (Triton: nv_inference_request_duration_us).",
		REQUEST_LABELS,
	);
	readonly queueDuration = this.seconds(
		"modelfleet_inference_queue_duration_seconds",
		"Time requests waited in the batching queue (Triton: nv_inference_queue_duration_us).",
	);
	readonly computeInputDuration = this.seconds(
		"modelfleet_inference_compute_input_duration_seconds",
		"Time to validate and pre-process a request's inputs (Triton: nv_inference_compute_input_duration_us).",
	);
	readonly computeInferDuration = this.seconds(
		"modelfleet_inference_compute_infer_duration_seconds",
		"Time a request's batch took to run the model (Triton: nv_inference_compute_infer_duration_us).",
	);
	readonly computeOutputDuration = this.seconds(
		"modelfleet_inference_compute_output_duration_seconds",
		"Time to post-process and encode a request's outputs (Triton: nv_inference_compute_output_duration_us).",
	);
	readonly pendingRequests = new SeriesGauge({
		// Triton's name ends in _count, which Prometheus keeps for histograms and summaries.
		name: "modelfleet_inference_pending_requests",
		help: "Requests waiting in batching queues (Triton: nv_inference_pending_request_count).",
		labelNames: VERSION_LABELS,
		registry: this.registry,
	});
	readonly batchSize = new SeriesHistogram({
		name: "modelfleet_inference_batch_size",
		help: "Rows per model run.",
		labelNames: VERSION_LABELS,
		buckets: BATCH_BUCKETS,
		registry: this.registry,
	});

	// The model cache of a worker.
	readonly cacheLoads = new Counter({
		name: "modelfleet_model_cache_loads_total",
		help: "Models loaded into the cache.",
		registers: [this.registry],
	});
	readonly cacheLoadDuration = new Histogram({
		name: "modelfleet_model_cache_load_duration_seconds",
		help: "Time to load a model into the cache.",
		buckets: LOAD_SECONDS_BUCKETS,
		registers: [this.registry],
	});
	readonly cacheEvictions = new Counter({
		name: "modelfleet_model_cache_evictions_total",
		help: "Models evicted from the cache, by reason.",
		labelNames: ["reason"],
		registers: [this.registry],
	});
	readonly cacheHitRatio = new Gauge({
		name: "modelfleet_model_cache_hit_ratio",
		help: "Model cache hits over lookups since the node started (0 to 1).",
		registers: [this.registry],
	});
	readonly cacheBytes = new Gauge({
		name: "modelfleet_model_cache_bytes",
		help: "Bytes of models held in the cache.",
		registers: [this.registry],
	});

	// Control plane (the scheduler on control nodes).
	readonly desiredReplicas = new Gauge({
		name: "modelfleet_deployment_desired_replicas",
		help: "Replicas a deployment asks for.",
		labelNames: ["tenant", "model"],
		registers: [this.registry],
	});
	readonly readyReplicas = new Gauge({
		name: "modelfleet_deployment_ready_replicas",
		help: "Replicas of a deployment loaded and serving.",
		labelNames: ["tenant", "model"],
		registers: [this.registry],
	});
	readonly autoscalingDecisions = new Counter({
		name: "modelfleet_autoscaling_decisions_total",
		help: "Replica count changes the autoscaler made, by direction (up, down).",
		labelNames: ["tenant", "model", "direction"],
		registers: [this.registry],
	});
	readonly trainingQueueDepth = new Gauge({
		name: "modelfleet_training_queue_depth",
		help: "Training jobs waiting (state=queued) or running (state=running).",
		labelNames: ["state"],
		registers: [this.registry],
	});
	readonly trainingEpochs = new Counter({
		name: "modelfleet_training_epochs_total",
		help: "Training epochs finished.",
		labelNames: ["tenant", "model"],
		registers: [this.registry],
	});
	readonly trainingLoss = new Gauge({
		name: "modelfleet_training_loss",
		help: "Training loss of the model's last finished epoch.",
		labelNames: ["tenant", "model"],
		registers: [this.registry],
	});

	// Monitoring (docs/monitoring.md): the acting control node's scores, each worker's captures.
	readonly deploymentHealthScore = new Gauge({
		name: "modelfleet_deployment_health_score",
		help: "A monitored deployment's health score, 0 to 100 (docs/monitoring.md).",
		labelNames: ["tenant", "model"],
		registers: [this.registry],
	});
	readonly captureRecords = new Counter({
		name: "modelfleet_capture_records_total",
		help: "Predictions captured for monitoring (taken into the buffer).",
		registers: [this.registry],
	});
	readonly captureDropped = new Counter({
		name: "modelfleet_capture_dropped_total",
		help: "Captured predictions dropped: the buffer was full, or the store refused them.",
		registers: [this.registry],
	});

	// A trainer node's own figures (workers).
	readonly trainerJobsFinished = new Counter({
		name: "modelfleet_trainer_jobs_finished_total",
		help: "Training jobs that ended on this node, by outcome (completed, failed).",
		labelNames: ["tenant", "outcome"],
		registers: [this.registry],
	});
	readonly trainerEpochs = new Counter({
		name: "modelfleet_trainer_epochs_total",
		help: "Training epochs run on this node, by device.",
		labelNames: ["tenant", "device"],
		registers: [this.registry],
	});
	readonly trainerSamplesPerSecond = new Gauge({
		name: "modelfleet_trainer_samples_per_second",
		help: "Samples per second of the tenant's latest training epoch on this node.",
		labelNames: ["tenant", "device"],
		registers: [this.registry],
	});

	// Every node: its GPUs.
	readonly gpuUtilization = new Gauge({
		name: "modelfleet_gpu_utilization_ratio",
		help: "GPU utilisation (0 to 1) as nvidia-smi reports it; absent for declared GPUs.",
		labelNames: ["gpu", "name"],
		registers: [this.registry],
	});
	readonly gpuMemoryUsed = new Gauge({
		name: "modelfleet_gpu_memory_used_bytes",
		help: "GPU memory in use; absent for declared GPUs.",
		labelNames: ["gpu", "name"],
		registers: [this.registry],
	});
	readonly gpuMemoryTotal = new Gauge({
		name: "modelfleet_gpu_memory_total_bytes",
		help: "GPU memory in all (nvidia-smi, or as declared in MODELFLEET_GPUS).",
		labelNames: ["gpu", "name"],
		registers: [this.registry],
	});
	readonly nodeInfo = new Gauge({
		name: "modelfleet_node_info",
		help: "1, labelled with the node's id, role and modelfleet version.",
		labelNames: ["node_id", "role", "version"],
		registers: [this.registry],
	});

	// Every fleet node: its direct links (lib/fleet/direct-links.ts).
	readonly directLinksOpen = new Gauge({
		name: "modelfleet_direct_links_open",
		help: "Direct links this node sends requests and responses on (the NATS server carries the rest).",
		registers: [this.registry],
	});
	readonly directLinkPackets = new Counter({
		name: "modelfleet_direct_link_packets_total",
		help: "Requests and responses sent or received over direct links.",
		labelNames: ["direction"],
		registers: [this.registry],
	});
	readonly directLinkBytes = new Counter({
		name: "modelfleet_direct_link_bytes_total",
		help: "Bytes of requests and responses sent or received over direct links.",
		labelNames: ["direction"],
		registers: [this.registry],
	});
	readonly directLinksRefused = new Counter({
		name: "modelfleet_direct_link_refused_total",
		help: "Link connections closed because the peer did not prove the fleet secret or broke the protocol.",
		registers: [this.registry],
	});
	private directLinkTotals: DirectLinkTotals | null = null;

	private defaultsOn = false;
	private readonly refreshers = new Set<() => Promise<void>>();

	private seconds(
		name: string,
		help: string,
		labelNames: readonly string[] = VERSION_LABELS,
	): SeriesHistogram {
		return new SeriesHistogram({
			name,
			help,
			labelNames,
			buckets: SECONDS_BUCKETS,
			registry: this.registry,
		});
	}

	/** Adds the process' own metrics (CPU, memory, event loop: `process_*`, `nodejs_*`), once. */
	collectProcessMetrics(): void {
		if (this.defaultsOn) return;
		this.defaultsOn = true;
		collectDefaultMetrics({ register: this.registry });
		// Gauges named `_total` (prom-client's), which promtool refuses: a gauge is no counter.
		for (const name of GAUGES_NAMED_TOTAL) this.registry.removeSingleMetric(name);
	}

	/** Sets the GPU gauges from a fresh GPU list; figures a GPU cannot give are left out. */
	setGpus(gpus: readonly GpuInfo[]): void {
		this.gpuUtilization.reset();
		this.gpuMemoryUsed.reset();
		this.gpuMemoryTotal.reset();
		for (const gpu of gpus) {
			const labels = { gpu: String(gpu.index), name: gpu.name };
			if (gpu.utilizationPercent !== null)
				this.gpuUtilization.set(labels, gpu.utilizationPercent / 100);
			if (gpu.memoryUsedBytes !== null) this.gpuMemoryUsed.set(labels, gpu.memoryUsedBytes);
			if (gpu.memoryTotalBytes !== null)
				this.gpuMemoryTotal.set(labels, gpu.memoryTotalBytes);
		}
	}

	/** Sets the direct-link metrics from the links' running totals. */
	setDirectLinks(stats: DirectLinkTotals): void {
		const last = this.directLinkTotals;
		this.directLinkTotals = { ...stats };
		this.directLinksOpen.set(stats.open);
		const grow = (
			counter: Counter,
			now: number,
			before: number | undefined,
			labels?: object,
		) => {
			const delta = now - (before ?? 0);
			if (delta > 0) {
				if (labels) counter.inc(labels as Record<string, string>, delta);
				else counter.inc(delta);
			}
		};
		grow(this.directLinkPackets, stats.packetsSent, last?.packetsSent, { direction: "sent" });
		grow(this.directLinkPackets, stats.packetsReceived, last?.packetsReceived, {
			direction: "received",
		});
		grow(this.directLinkBytes, stats.bytesSent, last?.bytesSent, { direction: "sent" });
		grow(this.directLinkBytes, stats.bytesReceived, last?.bytesReceived, {
			direction: "received",
		});
		grow(this.directLinksRefused, stats.refused, last?.refused);
	}

	/**
	 * Adds a refresh run before each scrape (gauges read from the database: fresh when asked,
	 * no timer). A failing one leaves its gauges as they were. Returns its removal.
	 */
	onScrape(refresh: () => Promise<void>): () => void {
		this.refreshers.add(refresh);
		return () => this.refreshers.delete(refresh);
	}

	/** The Prometheus text exposition of every metric, refreshed first. */
	async text(): Promise<{ contentType: string; body: string }> {
		await this.refresh();
		return { contentType: this.registry.contentType, body: await this.registry.metrics() };
	}

	/** Every metric as prom-client's JSON, refreshed first: what a serving thread hands on. */
	async json(): Promise<MetricsJson> {
		await this.refresh();
		return this.registry.getMetricsAsJSON();
	}

	private async refresh(): Promise<void> {
		await Promise.all([...this.refreshers].map(refresh => refresh().catch(() => undefined)));
	}
}

const byBroker = new WeakMap<object, NodeMetrics>();

/** The metrics of a broker (any object standing for one node), made on first use. */
export function nodeMetricsOf(broker: object): NodeMetrics {
	let metrics = byBroker.get(broker);
	if (metrics === undefined) {
		metrics = new NodeMetrics();
		byBroker.set(broker, metrics);
	}
	return metrics;
}
