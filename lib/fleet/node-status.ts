import * as os from "node:os";
import type { GpuInfo } from "../capacity/gpu-info";

/** A GPU's live figures. */
export interface GpuStatus {
	index: number;
	memoryFreeBytes: number | null;
	memoryUsedBytes: number | null;
	utilizationPercent: number | null;
}

/** A node's live figures, broadcast as `node.status` every status interval. */
export interface NodeStatus {
	nodeID: string;
	/** When it was sampled, epoch milliseconds. */
	at: number;
	uptimeS: number;
	/** 1-minute load average divided by the node's CPU count (1 = all cores busy). */
	cpuLoad: number;
	memoryFreeBytes: number;
	processRssBytes: number;
	/** Mean event-loop delay since the previous sample: the node's own responsiveness. */
	eventLoopDelayMs: number;
	/** Actions executing on this node right now. */
	inFlight: number;
	gpus: GpuStatus[];
	/** On nodes with a predictor: what it serves now. */
	serving?: ServingStatus;
	/** Prediction calls this node (a gateway) has in flight, per predictor node and model. */
	calls?: CallerLoad[];
}

/** A caller's prediction calls in flight to one predictor node for one `tenant/model`, averaged over about a second. */
export interface CallerLoad {
	nodeID: string;
	model: string;
	ongoing: number;
}

/** A predictor's live load, for routing and placement. */
export interface ServingStatus {
	modelsLoaded: number;
	modelBytes: number;
	/** Prediction requests queued or running. */
	activeRequests: number;
	cacheHitRatio: number;
	/**
	 * Every loaded version: its cache key (`tenant/model@version`), whether it is pinned
	 * (deployed here) and its requests queued or running now, for per-version routing and
	 * autoscaling.
	 */
	models: ServedModelStatus[];
}

/** One loaded version in a node's ServingStatus. */
export interface ServedModelStatus {
	key: string;
	pinned: boolean;
	/** Requests for the version queued or running on the node. */
	active: number;
	/** `active` averaged over about the last second (the autoscaling signal). */
	ongoing: number;
	/** What the node's model cache budgets for it. */
	bytes: number;
}

export interface NodeStatusInput {
	nodeID: string;
	cpus: number;
	inFlight: number;
	eventLoopDelayMs: number;
	gpus: readonly GpuInfo[];
}

/** The system readings a status sample takes; tests hand in fixed ones. */
export interface SystemReadings {
	now(): number;
	uptimeS(): number;
	loadAverage1m(): number;
	freeMemoryBytes(): number;
	rssBytes(): number;
}

export const SYSTEM_READINGS: SystemReadings = {
	now: () => Date.now(),
	uptimeS: () => process.uptime(),
	loadAverage1m: () => os.loadavg()[0],
	freeMemoryBytes: () => os.freemem(),
	rssBytes: () => process.memoryUsage.rss(),
};

export function sampleNodeStatus(
	input: NodeStatusInput,
	system: SystemReadings = SYSTEM_READINGS,
): NodeStatus {
	return {
		nodeID: input.nodeID,
		at: system.now(),
		uptimeS: Math.round(system.uptimeS()),
		cpuLoad: Math.round((system.loadAverage1m() / Math.max(input.cpus, 1)) * 100) / 100,
		memoryFreeBytes: system.freeMemoryBytes(),
		processRssBytes: system.rssBytes(),
		eventLoopDelayMs: Math.round(input.eventLoopDelayMs * 100) / 100,
		inFlight: input.inFlight,
		gpus: input.gpus.map(gpu => ({
			index: gpu.index,
			memoryFreeBytes: gpu.memoryFreeBytes,
			memoryUsedBytes: gpu.memoryUsedBytes,
			utilizationPercent: gpu.utilizationPercent,
		})),
	};
}
