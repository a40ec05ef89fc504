/**
 * Moleculer's NATS transporter, with messages over the server's payload limit sent in chunks
 * (lib/fleet/message-chunks.ts) and put together on arrival: requests, responses and events of
 * any size the gateway accepts cross the fleet, while the NATS server keeps its default limit.
 *
 * Chunks of one message must reach one subscriber, which holds for every subject Moleculer uses
 * while its own balancer is on (the default, which modelfleet keeps): requests and responses go
 * to one node's subject. With `disableBalancer`, NATS queue groups could spread the chunks of a
 * balanced request over several nodes, so this transporter refuses that setting.
 */
import { randomBytes } from "node:crypto";
import { Errors, Transporters } from "moleculer";
import { aliveSubject } from "./lost-node-detector";
import type { NatsRefusedError } from "../errors";
import {
	ChunkAssembler,
	isChunk,
	splitMessage,
	type ChunkAssemblerOptions,
} from "./message-chunks";
import type { NatsConnection } from "./nats-connect-options";
import {
	advertisedEndpoint,
	DIRECT_LINK_METADATA_KEY,
	DirectLinks,
	type DirectLink,
	type DirectLinkStats,
} from "./direct-links";
import type { DirectLinkSettings } from "../settings/direct-link-settings";
import { natsRefusal } from "./nats-refusal";

export interface ChunkedNatsOptions {
	/** NATS servers: URLs or `host:port`. */
	servers: string[];
	/** Credentials and TLS for nats.js (lib/fleet/nats-connect-options.ts); default none, plain. */
	connection?: NatsConnection;
	/**
	 * Called once when the server refuses the node for good (credentials, TLS), instead of
	 * Moleculer's endless retries. Default: the broker's `fatal` (logs it, exits with 1).
	 */
	onRefused?: (err: NatsRefusedError) => void;
	/** Bounds of reassembly on the receiving node. */
	assembly: ChunkAssemblerOptions;
	/** Chunk size when the server does not say its limit; default 1 MiB, the server default. */
	fallbackMaxPayload?: number;
	/**
	 * Answer "are you there?" probes on this node's own subject (lib/fleet/lost-node-detector.ts),
	 * from the moment the connection is up: before this node announces itself, so no caller can
	 * probe it before it answers.
	 */
	answerProbes?: boolean;
	/**
	 * Requests and responses to nodes that advertise a direct link go over it instead of through
	 * the NATS server (lib/fleet/direct-links.ts); `key` is the fleet secret's link key.
	 */
	directLinks?: { settings: DirectLinkSettings; key: Buffer };
}

/** What the transporter reads of a Moleculer packet. */
interface OutgoingPacket {
	type: string;
	target?: string | null;
	payload: { id?: string; stream?: boolean; seq?: number | null };
}

/** What the transporter reads of a call waiting for its answer (Moleculer's transit). */
interface PendingRequest {
	nodeID: string;
	action: { name: string };
	reject(err: Error): void;
}
interface TransitRequests {
	pendingRequests: Map<string, PendingRequest>;
	removePendingRequest(id: string): void;
}

/** Past this many tracked request ids on one link, those already answered are forgotten. */
const SENT_REQUESTS_PRUNE_AT = 4096;

const DEFAULT_MAX_PAYLOAD = 1024 * 1024;

type NatsClient = { info?: { max_payload?: number } } | null;
type ProbeClient = {
	subscribe(
		subject: string,
		options: { callback: (err: unknown, msg: { respond(): boolean }) => void },
	): unknown;
};

export class ChunkedNatsTransporter extends Transporters.NATS {
	private readonly assembler: ChunkAssembler;
	private readonly fallbackMaxPayload: number;
	private readonly onRefused: ((err: NatsRefusedError) => void) | undefined;
	/** Message ids: 8 random bytes of this process, then a counter. */
	private readonly idPrefix = randomBytes(8);
	private messageCount = 0;
	private readonly answerProbes: boolean;
	private readonly directLinkOptions: ChunkedNatsOptions["directLinks"];
	private links: DirectLinks | null = null;
	private readonly maxMessageBytes: number;

	constructor(options: ChunkedNatsOptions) {
		super({ ...options.connection, servers: options.servers });
		this.onRefused = options.onRefused;
		this.directLinkOptions = options.directLinks;
		this.maxMessageBytes = options.assembly.maxMessageBytes;
		this.assembler = new ChunkAssembler(options.assembly);
		this.fallbackMaxPayload = options.fallbackMaxPayload ?? DEFAULT_MAX_PAYLOAD;
		this.answerProbes = options.answerProbes ?? false;
	}

	override onConnected(wasReconnect?: boolean): Promise<unknown> {
		// nats.js subscribes again by itself after a reconnect.
		if (this.answerProbes && !wasReconnect) {
			(this.client as ProbeClient).subscribe(aliveSubject(this.prefix, this.nodeID), {
				callback: (_err, msg) => msg.respond(),
			});
		}
		return super.onConnected(wasReconnect);
	}

	/** The largest message the connected server takes. */
	get maxPayload(): number {
		return (this.client as NatsClient)?.info?.max_payload ?? this.fallbackMaxPayload;
	}

	/** What the direct links carried (null when they are off). */
	directLinkStats(): DirectLinkStats | null {
		return this.links?.stats() ?? null;
	}

	override async connect(): Promise<void> {
		if ((this.broker.options as { disableBalancer?: boolean }).disableBalancer)
			throw new Error(
				"The chunking NATS transporter needs Moleculer's balancer (disableBalancer: false).",
			);
		// Moleculer calls connect again after a lost connection: the links stay as they are.
		if (this.directLinkOptions !== undefined && this.links === null) await this.startLinks();
		return super.connect().catch((err: unknown) => {
			const refused = natsRefusal(err);
			if (refused === null) throw err;
			if (this.onRefused) this.onRefused(refused);
			else this.broker.fatal(refused.message, undefined, true);
			// Never settles: a retry would be refused the same way, and the node is stopping.
			return new Promise<void>(() => undefined);
		});
	}

	override disconnect(): Promise<void> {
		const links = this.links;
		this.links = null;
		return Promise.all([links?.stop(), super.disconnect()]).then(() => undefined);
	}

	/**
	 * Listens for links and advertises where in this node's metadata, before the node first
	 * says who it is (its INFO packet, sent once connected).
	 */
	private async startLinks(): Promise<void> {
		const { settings, key } = this.directLinkOptions as NonNullable<
			ChunkedNatsOptions["directLinks"]
		>;
		const links = new DirectLinks({
			nodeID: this.nodeID,
			namespace: this.broker.namespace ?? "",
			key,
			host: settings.host,
			port: settings.port,
			advertiseHost: settings.advertiseHost,
			maxFrameBytes: this.maxMessageBytes,
			onPacket: (_peer, kind, payload) => {
				void this.receive(kind === "request" ? "REQ" : "RES", payload);
			},
			onClosed: link => this.linkClosed(link),
			logger: this.logger,
		});
		const endpoint = await links.start();
		this.links = links;
		const metadata = (this.broker.metadata ?? {}) as Record<string, unknown>;
		metadata[DIRECT_LINK_METADATA_KEY] = endpoint;
		const registry = this.broker.registry as unknown as { localNodeInfoInvalidated: unknown };
		if (!registry.localNodeInfoInvalidated) registry.localNodeInfoInvalidated = true;
		this.logger.info(
			`Direct links: listening on ${settings.host}:${endpoint.port}, advertised as ${endpoint.host}:${endpoint.port}.`,
		);
	}

	/**
	 * Requests and responses to one node (not the parts of a stream, whose order NATS keeps)
	 * travel over the direct link to it when one is up; the first request to a node that
	 * advertises a link opens one, and goes over NATS meanwhile.
	 */
	override publish(packet: OutgoingPacket): Promise<void> {
		const links = this.links;
		const target = packet.target;
		const payload = packet.payload;
		if (
			links === null ||
			typeof target !== "string" ||
			(packet.type !== "REQ" && packet.type !== "RES") ||
			payload.stream === true ||
			(payload.seq !== undefined && payload.seq !== null)
		)
			return super.publish(packet as never) as Promise<void>;
		const data = this.serialize(packet as never) as Buffer;
		const request = packet.type === "REQ";
		// Only a caller opens a link: an answer takes one that is up, or NATS.
		const endpoint = request
			? advertisedEndpoint(
					(this.broker.registry.nodes.get(target) as { metadata?: unknown } | null)
						?.metadata,
				)
			: null;
		const link = links.send(target, request ? "request" : "response", data, endpoint);
		if (link === null)
			return this.send(this.getTopicName(packet.type, target), data, { packet });
		if (request && typeof payload.id === "string") this.trackRequest(link, payload.id);
		return Promise.resolve();
	}

	private get transitRequests(): TransitRequests {
		return this.transit as unknown as TransitRequests;
	}

	private trackRequest(link: DirectLink, id: string): void {
		link.sentRequests.add(id);
		if (link.sentRequests.size < SENT_REQUESTS_PRUNE_AT) return;
		const pending = this.transitRequests.pendingRequests;
		for (const sent of link.sentRequests)
			if (!pending.has(sent)) link.sentRequests.delete(sent);
	}

	/**
	 * A link closed: the calls sent over it whose answers have not come are rejected at once,
	 * as retryable (their answers would have come over it), instead of waiting for their
	 * timeout. Infer calls are retried on another replica.
	 */
	private linkClosed(link: DirectLink): void {
		const transit = this.transitRequests;
		let rejected = 0;
		for (const id of link.sentRequests) {
			const request = transit.pendingRequests.get(id);
			if (request === undefined) continue;
			transit.removePendingRequest(id);
			request.reject(
				new Errors.RequestRejectedError({
					action: request.action.name,
					nodeID: request.nodeID,
				}),
			);
			rejected++;
		}
		link.sentRequests.clear();
		if (rejected > 0)
			this.logger.warn(
				`Direct links: the link with '${link.peer}' closed; ${rejected} call(s) waiting on it are rejected for retry.`,
			);
	}

	override send(topic: string, data: Buffer, meta?: Record<string, unknown>): Promise<void> {
		const limit = this.maxPayload;
		if (data.length <= limit)
			return (super.send as (t: string, d: Buffer, m?: unknown) => Promise<void>).call(
				this,
				topic,
				data,
				meta,
			);
		const id = Buffer.allocUnsafe(12);
		this.idPrefix.copy(id, 0);
		id.writeUInt32BE(this.messageCount++ >>> 0, 8);
		// Published one after another with no await between: nothing interleaves on this connection.
		for (const chunk of splitMessage(data, limit, id)) void super.send(topic, chunk);
		return Promise.resolve();
	}

	override receive(cmd: string, data: Buffer): Promise<void> | void {
		if (!isChunk(data)) return super.receive(cmd, data);
		const outcome = this.assembler.accept(data);
		if (outcome === null) return;
		if (!Buffer.isBuffer(outcome)) {
			this.logger.warn(`A chunked ${cmd} message was dropped: ${outcome.reason}.`);
			return;
		}
		return super.receive(cmd, outcome);
	}
}
