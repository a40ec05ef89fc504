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
import { Transporters } from "moleculer";
import { aliveSubject } from "./lost-node-detector";
import type { NatsRefusedError } from "../errors";
import {
	ChunkAssembler,
	isChunk,
	splitMessage,
	type ChunkAssemblerOptions,
} from "./message-chunks";
import type { NatsConnection } from "./nats-connect-options";
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
}

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

	constructor(options: ChunkedNatsOptions) {
		super({ ...options.connection, servers: options.servers });
		this.onRefused = options.onRefused;
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

	override connect(): Promise<void> {
		if ((this.broker.options as { disableBalancer?: boolean }).disableBalancer)
			return Promise.reject(
				new Error(
					"The chunking NATS transporter needs Moleculer's balancer (disableBalancer: false).",
				),
			);
		return super.connect().catch((err: unknown) => {
			const refused = natsRefusal(err);
			if (refused === null) throw err;
			if (this.onRefused) this.onRefused(refused);
			else this.broker.fatal(refused.message, undefined, true);
			// Never settles: a retry would be refused the same way, and the node is stopping.
			return new Promise<void>(() => undefined);
		});
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
