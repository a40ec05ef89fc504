/**
 * Blobs in a NATS JetStream Object Store on the fleet's own NATS (the fleet default): every
 * control node reaches every blob, and a bucket with replicas on a clustered NATS outlives any
 * one server's disk. Object names are `sha256/ab/abcdef…`; the plaintext size and the times GC
 * needs ride in the object's metadata. JetStream checks each object's own digest on read.
 */
import { Readable } from "node:stream";
import {
	StorageType,
	connect,
	type ConnectionOptions,
	type NatsConnection,
	type ObjectInfo,
	type ObjectStore,
} from "nats";
import { NotFoundError } from "../../errors";
import {
	META,
	fileStream,
	metaNumber,
	metaOf,
	objectKey,
	sliceStream,
	type BlobBackend,
	type BlobObject,
	type BlobPutInfo,
	type StoredRange,
} from "./base";

/** How to reach the fleet's NATS: TRANSPORTER's servers, credentials and TLS, resolved by lib/config. */
export interface NatsReach {
	servers: string[];
	/** Authenticator and TLS options of nats.js (lib/fleet/nats-connect-options.ts). */
	connection: Pick<ConnectionOptions, "authenticator" | "tls">;
	/** TRANSPORTER with any password or token replaced by `***`. */
	displayUrl: string;
}

export interface NatsBlobBackendOptions {
	/** How to reach NATS: the node's TRANSPORTER settings. */
	nats: NatsReach;
	/** The Object Store bucket (created when missing). */
	bucket: string;
	/** Copies JetStream keeps of every chunk: 1 on a single server, 3 on a usual cluster. */
	replicas: number;
	/** The connection's name, as NATS monitoring shows it. */
	connectionName?: string;
}

/** Bytes published between two flushes: what a put holds in the client at most. */
const FLUSH_EVERY_BYTES = 4 * 1024 * 1024;

export class NatsBlobBackend implements BlobBackend {
	readonly kind = "nats";
	readonly remote = true;
	private connection: NatsConnection | null = null;
	private store: ObjectStore | null = null;

	constructor(private readonly options: NatsBlobBackendOptions) {}

	get description(): string {
		return `the NATS JetStream object store ${this.options.bucket} (${this.options.replicas} replica(s)) at ${this.options.nats.displayUrl}`;
	}

	async open(): Promise<void> {
		if (this.store) return;
		const { servers, connection } = this.options.nats;
		const nc = await connect({
			servers,
			...connection,
			name: this.options.connectionName ?? "modelfleet-artifacts",
			maxReconnectAttempts: -1,
		});
		try {
			this.store = await nc.jetstream().views.os(this.options.bucket, {
				replicas: this.options.replicas,
				storage: StorageType.File,
			});
		} catch (err) {
			await nc.close();
			throw new Error(
				`MODELFLEET_ARTIFACTS=nats: cannot open the JetStream object store ${this.options.bucket} at ${this.options.nats.displayUrl} (${(err as Error).message}); the NATS server needs JetStream (nats-server -js, or jetstream {} in its configuration) with room for ${this.options.replicas} replica(s) — or set MODELFLEET_ARTIFACTS=local`,
			);
		}
		this.connection = nc;
	}

	async close(): Promise<void> {
		const nc = this.connection;
		this.connection = null;
		this.store = null;
		if (nc) await nc.drain().catch(() => nc.close());
	}

	/** Deletes the whole bucket (tests). */
	async destroy(): Promise<void> {
		await this.os().destroy();
	}

	async put(sha256: string, source: Readable, info: BlobPutInfo): Promise<void> {
		const previous = await this.stat(sha256);
		await this.os().put(
			{
				name: objectKey(sha256),
				metadata: metaOf(info, previous?.createdAtMs ?? info.nowMs),
			},
			this.webStream(source),
		);
	}

	putFile(sha256: string, file: string, info: BlobPutInfo): Promise<void> {
		return this.put(sha256, fileStream(file), info);
	}

	async get(sha256: string, range: StoredRange = {}): Promise<Readable> {
		const result = await this.os().get(objectKey(sha256));
		if (result === null) throw new NotFoundError("artifact", sha256);
		// The stream fails by itself on an error; this promise says the same again.
		result.error.catch(() => undefined);
		const stream = Readable.fromWeb(result.data as import("node:stream/web").ReadableStream);
		const offset = range.offset ?? 0;
		if (offset === 0 && range.length === undefined) return stream;
		// Object Store reads whole objects: a range skips to its start.
		return sliceStream(stream, offset, range.length ?? Infinity);
	}

	async stat(sha256: string): Promise<BlobObject | null> {
		const info = await this.os().info(objectKey(sha256));
		return info === null || info.deleted ? null : toBlobObject(sha256, info);
	}

	async touch(sha256: string, nowMs: number): Promise<boolean> {
		const name = objectKey(sha256);
		const info = await this.os().info(name);
		if (info === null || info.deleted) return false;
		await this.os().update(name, {
			name,
			options: info.options,
			metadata: { ...info.metadata, [META.stored]: String(nowMs) },
		});
		return true;
	}

	async *list(): AsyncGenerator<BlobObject> {
		for (const info of await this.os().list()) {
			const sha256 = /^sha256\/[0-9a-f]{2}\/([0-9a-f]{64})$/.exec(info.name)?.[1];
			if (sha256 !== undefined && !info.deleted) yield toBlobObject(sha256, info);
		}
	}

	async delete(sha256: string): Promise<void> {
		await this.os().delete(objectKey(sha256));
	}

	private os(): ObjectStore {
		if (!this.store) throw new Error("NatsBlobBackend: open() it first");
		return this.store;
	}

	/**
	 * The source as the web stream nats.js reads. It publishes each chunk as it reads, without
	 * waiting for acknowledgements; a flush every few MiB keeps what it has sent but NATS has
	 * not taken bounded, whatever the blob's size.
	 */
	private webStream(source: Readable): ReadableStream<Uint8Array> {
		const chunks = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
		const nc = this.connection;
		let sinceFlush = 0;
		return new ReadableStream<Uint8Array>(
			{
				async pull(controller) {
					if (nc && sinceFlush >= FLUSH_EVERY_BYTES) {
						await nc.flush();
						sinceFlush = 0;
					}
					const next = await chunks.next();
					if (next.done) {
						controller.close();
						return;
					}
					sinceFlush += next.value.length;
					controller.enqueue(
						new Uint8Array(next.value.buffer, next.value.byteOffset, next.value.length),
					);
				},
				cancel() {
					source.destroy();
				},
			},
			{ highWaterMark: 0 },
		);
	}
}

function toBlobObject(sha256: string, info: ObjectInfo): BlobObject {
	const mtime = Date.parse(info.mtime);
	const stored = metaNumber(info.metadata, META.stored, mtime);
	return {
		sha256,
		size: metaNumber(info.metadata, META.size, info.size),
		storedBytes: info.size,
		createdAtMs: metaNumber(info.metadata, META.created, stored),
		lastStoredAtMs: stored,
	};
}
