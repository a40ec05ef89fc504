/**
 * The serving threads of an all-in-one node (MODELFLEET_SERVING_THREADS): one event loop serves
 * HTTP and runs models on one core, so a node given more cores serves on more threads. Each
 * serving thread is a `serving` node (gateway and predictor, nodes/serving-thread.ts) listening
 * on the node's own port with SO_REUSEPORT — the kernel shares the connections out — and joined
 * to the main thread's broker by a ThreadPortTransporter: it serves each request it accepts
 * start to end on its own thread, with its own copy of the models it serves, and asks the main
 * thread's control services only what a fleet's gateway and worker ask of a control node.
 *
 * A thread that dies is started again after a pause; the main thread serves meanwhile.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { MessageChannel, Worker, type MessagePort } from "node:worker_threads";
import type { ServiceBroker } from "moleculer";
import type { Environment } from "../lib/config/node-config";
import type { ThreadPortTransporter } from "../lib/fleet/thread-port-transporter";
import { SERVICE } from "../lib/fleet/node-role";
import type { MetricsJson } from "../lib/metrics/metrics-aggregation";
import { workerFile } from "../lib/process/worker-file";
import type {
	ServingThreadCommand,
	ServingThreadData,
	ServingThreadReport,
} from "./serving-thread";

export interface ServingThreadsOptions {
	/** Serving threads to run besides the main thread. */
	count: number;
	/** The node's environment; each thread's is derived from it (threadEnvironment). */
	env: Environment;
	/** The port the main thread listens on (PORT=0 resolved). */
	port: number;
	/** The main thread's fleet secret: calls between the threads are signed with it. */
	fleetSecret: string;
	/** The node's data directory; each thread keeps its model files in a folder of it. */
	dataDir: string;
	/** The node's folder for decrypted copies; each thread has a folder of it. */
	plaintextDir: string;
	/** The model memory each thread may use. */
	modelCacheBytes: number;
	/** The main thread's broker and its transporter, which the threads join. */
	broker: ServiceBroker;
	transporter: ThreadPortTransporter;
	/** How long a thread that died waits before it starts again; default 1 s. */
	restartDelayMs?: number;
}

/** How long a serving thread may take to start before the node's start fails. */
const START_TIMEOUT_MS = 60_000;
/** How long a scrape waits for a serving thread's metrics. */
const METRICS_TIMEOUT_MS = 2_000;
/** The longest a serving thread that keeps failing to start waits before its next try. */
const MAX_RESTART_DELAY_MS = 60_000;
/** How long a serving thread may take to stop gracefully before it is terminated. */
const STOP_TIMEOUT_MS = 30_000;

/** The serving thread's node id: the main thread's, with its number. */
export function servingThreadNodeID(mainNodeID: string, index: number): string {
	return `${mainNodeID}-serving-${index}`;
}

/** Thread `index`'s environment: the node's, less what only the main thread does. */
export function threadEnvironment(
	options: Omit<ServingThreadsOptions, "broker" | "transporter" | "count">,
	mainNodeID: string,
	index: number,
): Environment {
	// The main thread alone answers health probes, serves metrics and gRPC, and bootstraps keys.
	const { MODELFLEET_HEALTH_PORT, MODELFLEET_BOOTSTRAP_KEY, ...env } = options.env;
	void MODELFLEET_HEALTH_PORT;
	void MODELFLEET_BOOTSTRAP_KEY;
	return {
		...env,
		PORT: String(options.port),
		MODELFLEET_NODE_ID: servingThreadNodeID(mainNodeID, index),
		MODELFLEET_FLEET_SECRET: options.fleetSecret,
		MODELFLEET_DATA_DIR: path.join(options.dataDir, "serving-threads", String(index)),
		MODELFLEET_PLAINTEXT_DIR: path.join(options.plaintextDir, `serving-${index}`),
		MODELFLEET_MODEL_CACHE_BYTES: String(options.modelCacheBytes),
		MODELFLEET_SERVING_THREADS: "1",
		METRICS_PORT: "off",
		MODELFLEET_GRPC_PORT: "off",
	};
}

interface RunningThread {
	worker: Worker;
	port: MessagePort;
	nodeID: string;
}

export class ServingThreads {
	private readonly options: ServingThreadsOptions;
	private readonly logger: ReturnType<ServiceBroker["getLogger"]>;
	private readonly threads = new Map<number, RunningThread>();
	private stopping = false;

	constructor(options: ServingThreadsOptions) {
		this.options = options;
		this.logger = options.broker.getLogger("serving-threads");
	}

	/** Starts every thread; resolves once each listens, rejects when one cannot start. */
	async start(): Promise<void> {
		const indices = Array.from({ length: this.options.count }, (_, i) => i + 1);
		await Promise.all(indices.map(index => this.startThread(index)));
	}

	/** The threads running now: each one's node id and Worker (an operator's tool may end one). */
	running(): Array<{ nodeID: string; worker: Worker }> {
		return [...this.threads.values()].map(({ nodeID, worker }) => ({ nodeID, worker }));
	}

	/**
	 * Each running thread's metrics, for the main thread's /metrics
	 * (lib/metrics/metrics-aggregation.ts). A thread that does not answer in time (starting again,
	 * stuck) is left out of that scrape rather than failing it.
	 */
	async metrics(): Promise<MetricsJson[]> {
		const { broker } = this.options;
		const answers = await Promise.allSettled(
			this.running().map(({ nodeID }) =>
				broker.call<MetricsJson, object>(
					`${SERVICE.agent}.metrics`,
					{},
					{ nodeID, timeout: METRICS_TIMEOUT_MS },
				),
			),
		);
		return answers.flatMap(answer => (answer.status === "fulfilled" ? [answer.value] : []));
	}

	/** Stops every thread gracefully (in-flight requests finish), terminating a stuck one. */
	async stop(): Promise<void> {
		this.stopping = true;
		await Promise.all([...this.threads.values()].map(thread => this.stopThread(thread)));
	}

	private startThread(index: number): Promise<void> {
		const { broker, transporter } = this.options;
		const nodeID = servingThreadNodeID(broker.nodeID, index);
		const channel = new MessageChannel();
		const env = threadEnvironment(this.options, broker.nodeID, index);
		// A thread's folders hold only copies of what the main thread keeps (model files fetched
		// from its artifacts, decrypted copies): each start begins empty, so nothing survives from
		// before a restart or a key rotation (`modelfleet rotate-key` re-wraps the main thread's).
		for (const dir of [env.MODELFLEET_DATA_DIR, env.MODELFLEET_PLAINTEXT_DIR]) {
			if (dir) fs.rmSync(dir, { recursive: true, force: true });
		}
		const data: ServingThreadData = { env, port: channel.port2 };
		const { filename, execArgv } = workerFile(__dirname, "serving-thread", __filename);
		const worker = new Worker(filename, {
			execArgv,
			workerData: data,
			transferList: [channel.port2],
			name: `serving-${index}`,
		});
		const thread: RunningThread = { worker, port: channel.port1, nodeID };
		this.threads.set(index, thread);
		transporter.addPort(channel.port1);
		return new Promise<void>((resolve, reject) => {
			let started = false;
			const timer = setTimeout(() => {
				if (started) return;
				void worker.terminate();
				reject(
					new Error(`serving thread ${index} did not start in ${START_TIMEOUT_MS} ms`),
				);
			}, START_TIMEOUT_MS);
			worker.on("message", (report: ServingThreadReport) => {
				if (report.type === "ready") {
					started = true;
					clearTimeout(timer);
					// Ready once the main thread knows it too: its agent answers, its metrics count.
					this.known(nodeID).then(resolve, reject);
				} else if (report.type === "failed" && !started) {
					clearTimeout(timer);
					reject(new Error(`serving thread ${index} could not start: ${report.message}`));
				}
			});
			worker.on("error", err => {
				this.logger.error(`Serving thread ${index} failed:`, err);
			});
			worker.on("exit", code => {
				clearTimeout(timer);
				this.forget(index, thread);
				if (!started) {
					reject(new Error(`serving thread ${index} ended with ${code} while starting`));
				} else if (!this.stopping) {
					this.logger.warn(
						`Serving thread ${index} ended (exit code ${code}); it starts again shortly.`,
					);
					this.restartLater(index);
				}
			});
		});
	}

	/** Resolves once the main thread's registry holds `nodeID` as available. */
	private async known(nodeID: string): Promise<void> {
		const deadline = Date.now() + START_TIMEOUT_MS;
		while (this.options.broker.registry.nodes.get(nodeID)?.available !== true) {
			if (Date.now() > deadline) {
				throw new Error(`the main thread did not hear from serving thread ${nodeID}`);
			}
			await new Promise(resolve => setTimeout(resolve, 20));
		}
	}

	/** Takes a thread that ended out of the node: no more packets, its node gone from the registry. */
	private forget(index: number, thread: RunningThread): void {
		if (this.threads.get(index) === thread) this.threads.delete(index);
		this.options.transporter.removePort(thread.port);
		thread.port.close();
		// Calls waiting on it fail now instead of at the heartbeat timeout.
		const registry = this.options.broker.registry as unknown as {
			nodes: { disconnected(nodeID: string, isUnexpected: boolean): void };
		};
		registry.nodes.disconnected(thread.nodeID, true);
	}

	/**
	 * Starts thread `index` again after the restart delay; one that cannot start waits twice as
	 * long before each next try (up to a minute), so a thread that fails at once does not spin.
	 */
	private restartLater(index: number, delayMs = this.options.restartDelayMs ?? 1000): void {
		const timer = setTimeout(() => {
			if (this.stopping) return;
			this.startThread(index).catch((err: unknown) => {
				const next = Math.min(delayMs * 2, MAX_RESTART_DELAY_MS);
				this.logger.error(
					`Serving thread ${index} could not start again (next try in ${next} ms):`,
					err,
				);
				this.restartLater(index, next);
			});
		}, delayMs);
		timer.unref();
	}

	private async stopThread(thread: RunningThread): Promise<void> {
		const exited = new Promise<void>(resolve => thread.worker.once("exit", () => resolve()));
		const command: ServingThreadCommand = { type: "stop" };
		thread.worker.postMessage(command);
		const timer = setTimeout(() => void thread.worker.terminate(), STOP_TIMEOUT_MS);
		await exited;
		clearTimeout(timer);
	}
}
