/**
 * Direct links: TCP connections between two nodes of a fleet that carry their requests and
 * responses without the NATS server in between (issue 13). A call across NATS crosses the
 * server twice and wakes it each time; a link is one socket from caller to callee, so the hop
 * costs one kernel delivery each way. NATS stays the fleet's bus for everything else —
 * discovery, heartbeats, events, streams — and the way for any packet when no link is up.
 *
 * Every node listens; a node that sends a request or response to a peer which advertises an
 * endpoint connects to it and, until the link is up, keeps sending over NATS. A link is used
 * both ways once open. Both ends prove they hold the fleet secret before any packet crosses
 * (lib/fleet/link-handshake.ts); frames before that are bounded to a few KiB, and a connection
 * that has not finished its handshake in time is closed.
 */
import * as net from "node:net";
import { encodeFrame, FrameKind, FrameReader, type Frame } from "./link-frames";
import {
	LINK_PROTOCOL_VERSION,
	linkProof,
	newNonce,
	parseHello,
	parseProof,
	parseWelcome,
	verifyLinkProof,
	type Hello,
} from "./link-handshake";

/** Where a node accepts links, as it advertises it in its metadata. */
export interface LinkEndpoint {
	host: string;
	port: number;
}

/** Broker metadata key under which a node advertises its link endpoint. */
export const DIRECT_LINK_METADATA_KEY = "modelfleetDirectLink";

/** The endpoint a node's metadata advertises, when it is a well-formed one. */
export function advertisedEndpoint(metadata: unknown): LinkEndpoint | null {
	if (metadata === null || typeof metadata !== "object") return null;
	const value = (metadata as Record<string, unknown>)[DIRECT_LINK_METADATA_KEY];
	if (value === null || typeof value !== "object") return null;
	const { host, port } = value as Record<string, unknown>;
	if (typeof host !== "string" || host.length === 0 || host.length > 255) return null;
	if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535)
		return null;
	return { host, port };
}

export type PacketKind = "request" | "response";

export interface DirectLinksOptions {
	nodeID: string;
	namespace: string;
	/** From the fleet secret (linkKey in lib/fleet/link-handshake.ts). */
	key: Buffer;
	/** Address to listen on. */
	host: string;
	/** Port to listen on; 0 picks a free one. */
	port: number;
	/** The host other nodes connect to (advertised with the port listened on). */
	advertiseHost: string;
	/** Largest packet a link takes; a longer frame closes the link. */
	maxFrameBytes: number;
	/** A packet that arrived over a link, from the peer that link proved to be. */
	onPacket(peer: string, kind: PacketKind, payload: Buffer): void;
	/** A link that carried packets closed (the peer died, or the network failed). */
	onClosed?(link: DirectLink): void;
	logger: { info(msg: string): void; warn(msg: string): void; debug(msg: string): void };
	/** Default 5 s. */
	handshakeTimeoutMs?: number;
	/** Default 2 s. */
	connectTimeoutMs?: number;
	/** After a failed attempt to reach a peer, how long it is not tried again. Default 5 s. */
	retryAfterMs?: number;
	/** Connections at once still in their handshake; more are closed at once. Default 64. */
	maxHandshaking?: number;
	/**
	 * Bytes written to a link and not yet taken by the kernel, past which packets for that peer
	 * go another way: a peer that stops reading (frozen, overloaded) holds at most this much of
	 * this node's memory. Default 64 MiB.
	 */
	maxBacklogBytes?: number;
}

export interface DirectLinkStats {
	open: number;
	packetsSent: number;
	packetsReceived: number;
	bytesSent: number;
	bytesReceived: number;
	/** Connections closed for a failed or malformed handshake. */
	refused: number;
}

/** Bound on a frame before the peer has proved itself. */
const HANDSHAKE_FRAME_BYTES = 4096;

/** One authenticated link (either direction). */
export class DirectLink {
	/**
	 * Ids of requests this node sent over the link that may still wait for their answer: when the
	 * link closes, those are rejected at once (their answer would have come back over it).
	 */
	readonly sentRequests = new Set<string>();

	constructor(
		readonly peer: string,
		private readonly socket: net.Socket,
		private readonly stats: DirectLinkStats,
	) {}

	get open(): boolean {
		return !this.socket.destroyed;
	}

	/** Bytes written and not yet taken by the kernel. */
	get backlogBytes(): number {
		return this.socket.writableLength;
	}

	write(kind: PacketKind, payload: Uint8Array): void {
		const parts = encodeFrame(
			kind === "request" ? FrameKind.request : FrameKind.response,
			payload,
		);
		this.stats.packetsSent++;
		this.stats.bytesSent += payload.length;
		if (parts.length === 1) {
			this.socket.write(parts[0]);
			return;
		}
		this.socket.cork();
		for (const part of parts) this.socket.write(part);
		this.socket.uncork();
	}

	close(): void {
		this.socket.destroy();
	}
}

export class DirectLinks {
	private server: net.Server | null = null;
	private endpoint: LinkEndpoint | null = null;
	/** The link each peer's packets are sent on. */
	private readonly ready = new Map<string, DirectLink>();
	/** Every open socket, to close on stop. */
	private readonly sockets = new Set<net.Socket>();
	private readonly connecting = new Set<string>();
	private readonly failedAt = new Map<string, number>();
	private handshaking = 0;
	private stopped = false;
	private readonly counters: DirectLinkStats = {
		open: 0,
		packetsSent: 0,
		packetsReceived: 0,
		bytesSent: 0,
		bytesReceived: 0,
		refused: 0,
	};
	private readonly handshakeTimeoutMs: number;
	private readonly connectTimeoutMs: number;
	private readonly retryAfterMs: number;
	private readonly maxHandshaking: number;
	private readonly maxBacklogBytes: number;

	constructor(private readonly options: DirectLinksOptions) {
		this.maxBacklogBytes = options.maxBacklogBytes ?? 64 * 1024 * 1024;
		this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? 5000;
		this.connectTimeoutMs = options.connectTimeoutMs ?? 2000;
		this.retryAfterMs = options.retryAfterMs ?? 5000;
		this.maxHandshaking = options.maxHandshaking ?? 64;
	}

	/** Starts listening; resolves with the endpoint to advertise. */
	start(): Promise<LinkEndpoint> {
		return new Promise((resolve, reject) => {
			const server = net.createServer(socket => this.accept(socket));
			server.once("error", reject);
			server.listen({ host: this.options.host, port: this.options.port }, () => {
				server.off("error", reject);
				server.on("error", err =>
					this.options.logger.warn(`Direct links: the listener failed: ${err.message}`),
				);
				const address = server.address() as net.AddressInfo;
				this.server = server;
				this.endpoint = { host: this.options.advertiseHost, port: address.port };
				resolve(this.endpoint);
			});
		});
	}

	/** The advertised endpoint, once listening. */
	get address(): LinkEndpoint | null {
		return this.endpoint;
	}

	stats(): DirectLinkStats {
		return { ...this.counters, open: this.ready.size };
	}

	/** The link to `peer`, when one is up. */
	linkTo(peer: string): DirectLink | null {
		const link = this.ready.get(peer);
		return link !== undefined && link.open ? link : null;
	}

	/**
	 * Sends a packet to `peer` over its link and returns the link, or returns null when no link
	 * is up — after starting to open one to `endpoint`, when given — and the caller sends it
	 * another way.
	 */
	send(
		peer: string,
		kind: PacketKind,
		payload: Uint8Array,
		endpoint: LinkEndpoint | null,
	): DirectLink | null {
		const link = this.linkTo(peer);
		if (link !== null) {
			// A peer that does not read its link: this packet goes another way.
			if (link.backlogBytes > this.maxBacklogBytes) return null;
			link.write(kind, payload);
			return link;
		}
		if (endpoint !== null) this.connect(peer, endpoint);
		return null;
	}

	/** Stops listening and closes every link. */
	stop(): Promise<void> {
		this.stopped = true;
		for (const socket of this.sockets) socket.destroy();
		this.sockets.clear();
		this.ready.clear();
		const server = this.server;
		this.server = null;
		if (server === null) return Promise.resolve();
		return new Promise(resolve => server.close(() => resolve()));
	}

	/** Opens a link to `peer` unless one is up, being opened, or failed a moment ago. */
	private connect(peer: string, endpoint: LinkEndpoint): void {
		if (this.stopped || peer === this.options.nodeID || this.connecting.has(peer)) return;
		const failed = this.failedAt.get(peer);
		if (failed !== undefined && Date.now() - failed < this.retryAfterMs) return;
		this.connecting.add(peer);
		const socket = net.connect({ host: endpoint.host, port: endpoint.port });
		this.track(socket);
		socket.setNoDelay(true);
		const hello: Hello = {
			v: LINK_PROTOCOL_VERSION,
			namespace: this.options.namespace,
			from: this.options.nodeID,
			to: peer,
			nonce: newNonce(),
		};
		const fail = (why: string) => {
			if (!this.connecting.has(peer)) return;
			this.connecting.delete(peer);
			this.failedAt.set(peer, Date.now());
			this.options.logger.debug(
				`Direct links: no link to '${peer}' (${why}); NATS carries its packets.`,
			);
			socket.destroy();
		};
		let linked = false;
		const timer = setTimeout(() => fail("no handshake in time"), this.connectTimeoutMs);
		timer.unref();
		// After the handshake, an error is followed by "close", which the open link handles.
		socket.on("error", err => {
			clearTimeout(timer);
			if (!linked) fail(err.message);
		});
		socket.once("close", () => {
			clearTimeout(timer);
			if (!linked) fail("closed");
		});
		socket.once("connect", () => socket.write(handshakeFrame(FrameKind.hello, hello)));
		const reader = new FrameReader(HANDSHAKE_FRAME_BYTES);
		const onData = (chunk: Buffer) => {
			// One frame at a time: what follows the handshake is read under the open link's bound.
			const frames = reader.push(chunk, 1);
			if (frames.length === 0) {
				if (reader.error !== null) {
					clearTimeout(timer);
					fail(reader.error.message);
				}
				return;
			}
			socket.off("data", onData);
			clearTimeout(timer);
			const welcome =
				frames[0].kind === FrameKind.welcome ? parseWelcome(frames[0].payload) : null;
			if (
				welcome === null ||
				!verifyLinkProof(this.options.key, "listener", hello, welcome.nonce, welcome.proof)
			) {
				this.counters.refused++;
				this.options.logger.warn(
					`Direct links: '${peer}' at ${endpoint.host}:${endpoint.port} did not prove the fleet secret; NATS carries its packets.`,
				);
				fail("refused");
				return;
			}
			socket.write(
				handshakeFrame(FrameKind.proof, {
					proof: linkProof(this.options.key, "connector", hello, welcome.nonce),
				}),
			);
			linked = true;
			this.connecting.delete(peer);
			this.failedAt.delete(peer);
			this.opened(peer, socket, reader);
		};
		socket.on("data", onData);
	}

	/** A connection to the listener: the peer must prove itself before anything else. */
	private accept(socket: net.Socket): void {
		if (this.stopped || this.handshaking >= this.maxHandshaking) {
			socket.destroy();
			return;
		}
		this.handshaking++;
		this.track(socket);
		socket.setNoDelay(true);
		const reader = new FrameReader(HANDSHAKE_FRAME_BYTES);
		let hello: Hello | null = null;
		let listenerNonce = "";
		let done = false;
		const finish = () => {
			if (done) return;
			done = true;
			this.handshaking--;
			clearTimeout(timer);
			socket.off("data", onData);
		};
		const refuse = (why: string) => {
			finish();
			this.counters.refused++;
			this.options.logger.warn(
				`Direct links: a connection from ${socket.remoteAddress ?? "?"} was refused (${why}).`,
			);
			socket.destroy();
		};
		const timer = setTimeout(() => refuse("no handshake in time"), this.handshakeTimeoutMs);
		timer.unref();
		socket.once("close", finish);
		socket.on("error", () => undefined);
		const onData = (chunk: Buffer) => {
			// One frame at a time: what follows the handshake is read under the open link's bound.
			for (let next = chunk; ; next = NO_BYTES) {
				const frames = reader.push(next, 1);
				if (frames.length === 0) {
					if (reader.error !== null) refuse(reader.error.message);
					return;
				}
				const frame = frames[0];
				if (hello === null) {
					hello = frame.kind === FrameKind.hello ? parseHello(frame.payload) : null;
					if (hello === null) return refuse("not a handshake");
					if (
						hello.to !== this.options.nodeID ||
						hello.namespace !== this.options.namespace
					)
						return refuse(`meant for '${hello.to}' in namespace '${hello.namespace}'`);
					listenerNonce = newNonce();
					socket.write(
						handshakeFrame(FrameKind.welcome, {
							nonce: listenerNonce,
							proof: linkProof(this.options.key, "listener", hello, listenerNonce),
						}),
					);
					continue;
				}
				const proof = frame.kind === FrameKind.proof ? parseProof(frame.payload) : null;
				if (
					proof === null ||
					!verifyLinkProof(
						this.options.key,
						"connector",
						hello,
						listenerNonce,
						proof.proof,
					)
				)
					return refuse(`'${hello.from}' did not prove the fleet secret`);
				finish();
				this.opened(hello.from, socket, reader);
				return;
			}
		};
		socket.on("data", onData);
	}

	/** Both sides proved themselves: packets flow (the reader may hold some already). */
	private opened(peer: string, socket: net.Socket, reader: FrameReader): void {
		if (this.stopped) {
			socket.destroy();
			return;
		}
		reader.maxPayloadBytes = this.options.maxFrameBytes;
		socket.setKeepAlive(true, 15_000);
		const link = new DirectLink(peer, socket, this.counters);
		this.ready.set(peer, link);
		this.options.logger.debug(`Direct links: linked with '${peer}'.`);
		const closeFor = (why: string) => {
			this.options.logger.warn(`Direct links: the link with '${peer}' is closed: ${why}.`);
			socket.destroy();
		};
		const deliver = (frames: Frame[]) => {
			for (const frame of frames) {
				if (socket.destroyed) return;
				if (frame.kind !== FrameKind.request && frame.kind !== FrameKind.response)
					return closeFor("a handshake frame on an open link");
				this.counters.packetsReceived++;
				this.counters.bytesReceived += frame.payload.length;
				this.options.onPacket(
					peer,
					frame.kind === FrameKind.request ? "request" : "response",
					frame.payload,
				);
			}
			if (reader.error !== null) closeFor(reader.error.message);
		};
		socket.on("data", (chunk: Buffer) => deliver(reader.push(chunk)));
		socket.once("close", () => {
			if (this.ready.get(peer) === link) this.ready.delete(peer);
			this.options.onClosed?.(link);
		});
		deliver(reader.push(NO_BYTES));
	}

	private track(socket: net.Socket): void {
		this.sockets.add(socket);
		socket.once("close", () => this.sockets.delete(socket));
	}
}

const NO_BYTES = Buffer.alloc(0);

function handshakeFrame(kind: FrameKind, message: object): Buffer {
	return encodeFrame(kind, Buffer.from(JSON.stringify(message)))[0];
}
