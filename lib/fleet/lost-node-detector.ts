/**
 * Notices a vanished node in milliseconds instead of a heartbeat timeout. Every node keeps a
 * NATS subscription of its own (`<prefix>.MF-ALIVE.<nodeID>`) that answers an empty message
 * (its transporter makes it as soon as it connects: lib/fleet/chunked-nats-transporter.ts).
 * A caller whose call to some node has waited longer than that node usually takes asks the
 * NATS server, with one request to that subject: a process killed with `kill -9` has lost its
 * connection, the server holds no subscription for it any more and answers at once with "no
 * responders". The caller then disconnects the node in its own registry, which rejects its
 * pending calls with a retryable error (idempotent ones, such as infer, are retried on another
 * replica; others fail at once instead of waiting for the heartbeat timeout) and stops routing
 * to it. A live but slow node answers the probe and nothing happens; a frozen one (no answer
 * within the probe timeout) is probed again while calls wait on it, and left to the heartbeat.
 *
 * Only nodes that advertise the subscription in their metadata are probed, so a node of an
 * older version in a rolling upgrade is never mistaken for a dead one.
 */
import type { Context, Middleware, ServiceBroker } from "moleculer";
import { PendingCalls } from "./pending-calls";

/** Broker metadata key by which a node says it answers probes. */
export const ALIVE_PROBE_METADATA_KEY = "modelfleetAliveProbe";

export interface LostNodeOptions {
	/**
	 * A call pending this long (at least; longer for a node whose calls usually take longer)
	 * makes its node probed. 0 turns the detector off. Default 100 ms.
	 */
	suspectAfterMs: number;
	/** The pending time is also at least this many times the node's usual latency. Default 4. */
	latencyMultiple: number;
	/**
	 * But never more than this, ms, however slow the node usually is (a loaded machine's latency
	 * would otherwise put the probe, and the retry, seconds away). Default 300.
	 */
	maxSuspectMs: number;
	/**
	 * How long a probe waits for an answer; past it the node is probed again while its calls
	 * still wait (a frozen node is left to the heartbeat). Default 250 ms: a process killed -9
	 * can hold its NATS connection open for a moment while the kernel tears it down, so the
	 * probe sent then is delivered and never answered; the probe after it gets "no responders".
	 * A timeout is the whole cost of that race, so it is kept well under a failover's 1 s.
	 */
	probeTimeoutMs: number;
}

export const DEFAULT_LOST_NODE_OPTIONS: Readonly<LostNodeOptions> = Object.freeze({
	suspectAfterMs: 100,
	latencyMultiple: 4,
	maxSuspectMs: 300,
	probeTimeoutMs: 250,
});

/** What the detector needs of a NATS connection (nats.js). */
interface NatsLike {
	request(subject: string, data: Uint8Array, options: { timeout: number }): Promise<unknown>;
}

/** nats.js's code for "no responders": nobody subscribes to the subject. */
const NO_RESPONDERS = "503";

/** The NATS connection of a broker's transporter, when it has one. */
function natsOf(broker: ServiceBroker): { client: NatsLike; prefix: string } | null {
	const tx = (broker.transit as unknown as { tx?: { client?: unknown; prefix?: string } })?.tx;
	const client = tx?.client as Partial<NatsLike> | null | undefined;
	if (!client || typeof client.request !== "function") return null;
	return { client: client as NatsLike, prefix: tx?.prefix ?? "MOL" };
}

/** The subject a node answers probes on (a node ID may hold characters a subject must not). */
export function aliveSubject(prefix: string, nodeID: string): string {
	return `${prefix}.MF-ALIVE.${nodeID.replace(/[^A-Za-z0-9_-]/g, c => `%${c.charCodeAt(0).toString(16)}`)}`;
}

export function lostNodeDetector(options: Partial<LostNodeOptions> = {}): Middleware {
	// Long because it is a Moleculer middleware: its hooks (created, started, stopped,
	// remoteAction) and the probe helpers share the pending calls and the NATS client held in this
	// closure; each hook is short.
	const settings: LostNodeOptions = { ...DEFAULT_LOST_NODE_OPTIONS, ...options };
	const pending = new PendingCalls();
	const probing = new Set<string>();
	const lastProbe = new Map<string, number>();
	let broker: ServiceBroker;
	let nats: { client: NatsLike; prefix: string } | null = null;
	let timer: NodeJS.Timeout | null = null;

	const advertisesProbe = (nodeID: string): boolean => {
		const node = broker.registry.nodes.get(nodeID) as {
			metadata?: Record<string, unknown>;
		} | null;
		return node?.metadata?.[ALIVE_PROBE_METADATA_KEY] === true;
	};

	const probe = (nodeID: string): void => {
		if (!nats) return;
		probing.add(nodeID);
		lastProbe.set(nodeID, Date.now());
		nats.client
			.request(aliveSubject(nats.prefix, nodeID), new Uint8Array(0), {
				timeout: settings.probeTimeoutMs,
			})
			.then(
				() => undefined,
				(err: { code?: string }) => {
					if (err?.code !== NO_RESPONDERS) return; // slow or frozen: the heartbeat decides
					const calls = pending.count(nodeID);
					broker.logger.warn(
						`Node '${nodeID}' is gone (no NATS connection): its ${calls} pending call(s) are rejected for retry elsewhere.`,
					);
					broker.registry.nodes.disconnected(nodeID, true);
				},
			)
			.finally(() => probing.delete(nodeID));
	};

	const check = (): void => {
		const now = Date.now();
		for (const nodeID of pending.suspects(now, settings)) {
			if (probing.has(nodeID)) continue;
			// One probe per node per suspicion period: a slow node is not asked over and over.
			if (now - (lastProbe.get(nodeID) ?? 0) < pending.suspectAfterMs(nodeID, settings))
				continue;
			if (!advertisesProbe(nodeID)) continue;
			probe(nodeID);
		}
	};

	return {
		name: "LostNodeDetector",
		created(b: ServiceBroker) {
			broker = b;
		},
		started() {
			if (settings.suspectAfterMs <= 0) return;
			nats = natsOf(broker);
			if (!nats) return;
			timer = setInterval(check, Math.max(10, Math.floor(settings.suspectAfterMs / 2)));
			timer.unref();
		},
		stopped() {
			if (timer) clearInterval(timer);
			timer = null;
		},
		remoteAction(next: (ctx: Context) => Promise<unknown>) {
			if (settings.suspectAfterMs <= 0) return next;
			return (ctx: Context) => {
				const nodeID = ctx.nodeID ?? "";
				const call = pending.begin(nodeID);
				return next(ctx).then(
					value => {
						pending.end(nodeID, call, true);
						return value;
					},
					(error: unknown) => {
						pending.end(nodeID, call, false);
						return Promise.reject(error);
					},
				);
			};
		},
	} as unknown as Middleware;
}
