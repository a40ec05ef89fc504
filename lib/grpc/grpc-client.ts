/**
 * A small client of the gRPC protocol (the checked-in proto through @grpc/grpc-js): unary RPCs
 * as promises, the key sent as `authorization: Bearer` metadata, and ModelStreamInfer as a
 * duplex stream. The tests, the benchmark and docs/grpc.md's walk-through use it.
 */
import {
	Metadata,
	credentials as grpcCredentials,
	type ChannelCredentials,
	type Client,
	type ClientDuplexStream,
	type ServiceError,
} from "@grpc/grpc-js";
import { inferenceService } from "./proto";

type Unary = (
	request: unknown,
	metadata: Metadata,
	options: { deadline?: number },
	callback: (err: ServiceError | null, answer: unknown) => void,
) => void;

export interface InferenceClientOptions {
	/** Sent as `authorization: Bearer <key>`; none when null. */
	key: string | null;
	credentials?: ChannelCredentials;
	/** Most bytes of a message the client takes or sends (default 64 MiB). */
	maxMessageBytes?: number;
}

export class InferenceClient {
	private readonly client: Client;

	constructor(
		address: string,
		private readonly options: InferenceClientOptions,
	) {
		const { Client: Ctor } = inferenceService();
		const max = options.maxMessageBytes ?? 64 * 1024 ** 2;
		this.client = new (
			Ctor as unknown as new (
				address: string,
				credentials: ChannelCredentials,
				options: object,
			) => Client
		)(address, options.credentials ?? grpcCredentials.createInsecure(), {
			"grpc.max_receive_message_length": max,
			"grpc.max_send_message_length": max,
		});
	}

	/** The call's metadata: the key, and `extra` entries. */
	metadata(extra: Record<string, string> = {}): Metadata {
		const metadata = new Metadata();
		if (this.options.key !== null) metadata.set("authorization", `Bearer ${this.options.key}`);
		for (const [name, value] of Object.entries(extra)) metadata.set(name, value);
		return metadata;
	}

	/** Calls a unary RPC by its name (`ModelInfer`, `ServerLive`, …). */
	call<T = Record<string, unknown>>(
		rpc: string,
		request: object,
		options: { deadlineMs?: number; metadata?: Metadata } = {},
	): Promise<T> {
		const method = (this.client as unknown as Record<string, Unary>)[rpc];
		if (typeof method !== "function") throw new Error(`No RPC ${rpc} in the proto.`);
		return new Promise((resolve, reject) =>
			method.call(
				this.client,
				request,
				options.metadata ?? this.metadata(),
				options.deadlineMs !== undefined
					? { deadline: Date.now() + options.deadlineMs }
					: {},
				(err, answer) => (err ? reject(err) : resolve(answer as T)),
			),
		);
	}

	/** A ModelStreamInfer stream: write ModelInferRequests, read ModelStreamInferResponses. */
	stream(metadata?: Metadata): ClientDuplexStream<object, Record<string, unknown>> {
		const method = (
			this.client as unknown as Record<
				string,
				(metadata: Metadata) => ClientDuplexStream<object, Record<string, unknown>>
			>
		).ModelStreamInfer;
		return method.call(this.client, metadata ?? this.metadata());
	}

	close(): void {
		this.client.close();
	}
}
