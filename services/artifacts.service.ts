/**
 * artifacts — the content-addressed blob store of a control node (docs/architecture.md,
 * "Storage"): model
 * files, datasets and checkpoints by sha256 under `<dataDir>/artifacts`. Bytes travel as
 * Moleculer streams; big blobs in parts (lib/artifacts/artifact-upload.ts and
 * artifact-download.ts), which keeps memory bounded across the transporter. Blobs are
 * tenant-scoped (lib/artifacts/artifact-access.ts): a call acting for a tenant reaches only the
 * blobs that tenant stored or that were made for it; this service keeps those records.
 */
import { fleetInternal } from "../lib/accounts/access";
import * as path from "node:path";
import type { Readable } from "node:stream";
import type { Context, ServiceSchema } from "moleculer";
import type { RequestMeta } from "../lib/accounts/access";
import { InvalidInputError } from "../lib/errors";
import { EVENTS, type ArtifactStoredPayload } from "../lib/events";
import { ArtifactAccess } from "../lib/artifacts/artifact-access";
import { ArtifactCollector, type ReferencedArtifacts } from "../lib/artifacts/artifact-gc";
import type { ArtifactOwners } from "../lib/artifacts/artifact-owners";
import { SHA256_PARAM_PATTERN, requireSha256 } from "../lib/artifacts/artifact-hash";
import {
	ARTIFACTS_SERVICE,
	type ArtifactStat,
	type GcParams,
	type GcReport,
	type GetParams,
	type PutParams,
	type PutResult,
	type StatParams,
	type StoredArtifact,
} from "../lib/artifacts/artifact-protocol";
import { ArtifactStore } from "../lib/artifacts/artifact-store";
import { createBlobBackend, type ArtifactsBackendSetting } from "../lib/artifacts/backends";
import type { ArtifactStoreOptions } from "../lib/artifacts/artifact-store-options";
import type { MasterKey } from "../lib/artifacts/encryption/master-key";
import { ArtifactUploads, UPLOAD_ID_PATTERN } from "../lib/artifacts/artifact-uploads";
import { domainEventsMixin, type DomainEventMethods } from "../mixins/domain-events.mixin";

export interface ArtifactsServiceOptions {
	/** NodeConfig.dataDir: blobs go under `<dataDir>/artifacts`. */
	dataDir: string;
	/** NodeConfig.maxArtifactBytes: a bigger upload answers 413. */
	maxArtifactBytes: number;
	/** NodeConfig.artifactGcIntervalS: seconds between GC runs; 0 turns scheduled GC off. */
	artifactGcIntervalS: number;
	/** NodeConfig.artifactGcGraceS: unreferenced blobs younger than this are kept. */
	artifactGcGraceS: number;
	/** The hashes versions, datasets and checkpoints refer to. Without it GC deletes nothing. */
	referencedArtifacts?: ReferencedArtifacts;
	/**
	 * Which tenant holds which blob (ArtifactOwnerStore over the metadata database). Without it
	 * nothing is scoped: any caller reaches any blob by its hash (bare stores in tests and tools).
	 */
	owners?: ArtifactOwners;
	/**
	 * NodeConfig.artifacts (MODELFLEET_ARTIFACTS): where the blobs live. Default the local
	 * directory `<dataDir>/artifacts`; with an object store that directory caches what this
	 * node read.
	 */
	backend?: ArtifactsBackendSetting;
	/** NodeConfig.encryptionKey: new blobs are sealed under it; default none (stored plain). */
	encryptionKey?: MasterKey | null;
	/**
	 * The control plane's leadership (lib/scheduler/leader-lease.ts). With a store every control
	 * node shares (nats, s3) only the leader runs scheduled GC, and each deletion waits for the
	 * lease to be confirmed in force; with the local directory each node collects its own disk.
	 */
	leadership?: { isLeader(): boolean; check(): Promise<void> };
	/** The store's remaining options (upload idle and stall timeouts, the clock); defaults otherwise. */
	store?: Partial<
		Omit<ArtifactStoreOptions, "root" | "maxBytes" | "gcGraceMs" | "encryptionKey">
	>;
}

const sha256Param = { type: "string", pattern: SHA256_PARAM_PATTERN } as const;
const byteCountParam = { type: "number", integer: true, min: 0, convert: true, optional: true };

/** How often abandoned multipart uploads are looked for, at most. */
const UPLOAD_SWEEP_MS = 30_000;

interface NodeDisconnectedPayload {
	node: { id: string };
}

function isReadable(value: unknown): value is Readable {
	return typeof (value as Readable | null)?.pipe === "function";
}

export function artifactsService(options: ArtifactsServiceOptions): ServiceSchema {
	// Long because it is a service schema (a declaration, not a procedure): the put, get, stat and
	// gc actions and the GC timers, each short, sharing one artifact store.
	const root = path.join(options.dataDir, "artifacts");
	const store = new ArtifactStore(
		{
			...options.store,
			root,
			maxBytes: options.maxArtifactBytes,
			gcGraceMs: options.artifactGcGraceS * 1000,
			encryptionKey: options.encryptionKey ?? null,
		},
		createBlobBackend(options.backend ?? { kind: "local" }, root),
	);
	const uploads = new ArtifactUploads(store);
	const access = new ArtifactAccess(options.owners ?? null);
	let collector: ArtifactCollector;
	const timers: NodeJS.Timeout[] = [];

	/** The put's answer as the caller's tenant sees it; the event says what the store did. */
	async function stored(
		events: DomainEventMethods,
		ctx: Context<unknown, RequestMeta>,
		result: StoredArtifact,
	): Promise<StoredArtifact> {
		const answer = await access.stored(ctx.meta.tenant, result);
		if (result.created) {
			const payload: ArtifactStoredPayload = { sha256: result.sha256, size: result.size };
			// The blob is stored whatever happens to the event: a failed emit must not fail the put.
			void events.emitEvent(EVENTS.artifactStored, payload, ctx);
		}
		return answer;
	}

	return {
		name: ARTIFACTS_SERVICE,
		mixins: [domainEventsMixin()],

		actions: {
			/**
			 * Stores the call's stream: `broker.call("artifacts.put", params, { stream })`.
			 * Answers `{ sha256, size, created }`; a part of a multipart upload answers
			 * `{ uploadId, received, nodeID }`. The blob is recorded for the caller's tenant;
			 * `created` says whether that tenant held these bytes before.
			 */
			put: {
				params: {
					expectedSha256: { ...sha256Param, optional: true },
					uploadId: { type: "string", pattern: UPLOAD_ID_PATTERN, optional: true },
					offset: byteCountParam,
					final: { type: "boolean", convert: true, optional: true },
				},
				async handler(ctx: Context<PutParams, RequestMeta>): Promise<PutResult> {
					const stream = isReadable(ctx.stream) ? ctx.stream : null;
					const { uploadId, offset, final, expectedSha256 } = ctx.params;
					if (uploadId === undefined) {
						if (!stream || offset !== undefined || final !== undefined) {
							stream?.resume();
							throw new InvalidInputError(
								stream
									? "offset and final belong to a multipart upload: give its uploadId too."
									: "artifacts.put needs the content as a stream: broker.call('artifacts.put', params, { stream }).",
							);
						}
						return stored(
							this as unknown as DomainEventMethods,
							ctx,
							await uploads.put(stream, { expectedSha256 }),
						);
					}
					const result = await uploads.putPart(
						{
							uploadId,
							offset: offset ?? 0,
							final: final ?? false,
							expectedSha256,
							sender: ctx.nodeID ?? undefined,
						},
						stream,
					);
					if ("sha256" in result)
						return stored(this as unknown as DomainEventMethods, ctx, result);
					return { ...result, nodeID: this.broker.nodeID };
				},
			},

			/**
			 * A stream of the blob's bytes, or of `length` bytes from `offset`. NOT_FOUND for a
			 * blob the caller's tenant does not hold, as for one never stored.
			 */
			get: {
				params: { sha256: sha256Param, offset: byteCountParam, length: byteCountParam },
				async handler(ctx: Context<GetParams, RequestMeta>): Promise<Readable> {
					const { offset, length } = ctx.params;
					const sha256 = requireSha256(ctx.params.sha256);
					await access.require(ctx.meta.tenant, sha256);
					return store.read(sha256, { offset, length });
				},
			},

			/**
			 * Size and times of a blob, and the node that holds it; NOT_FOUND when absent or not
			 * the caller's tenant's (the registry asks this before a version or dataset names it).
			 */
			stat: {
				retryPolicy: { enabled: true },
				params: { sha256: sha256Param },
				async handler(ctx: Context<StatParams, RequestMeta>): Promise<ArtifactStat> {
					const sha256 = requireSha256(ctx.params.sha256);
					await access.require(ctx.meta.tenant, sha256);
					const blob = await store.stat(sha256);
					return {
						sha256: blob.sha256,
						size: blob.size,
						createdAt: new Date(blob.createdAtMs).toISOString(),
						lastStoredAt: new Date(blob.lastStoredAtMs).toISOString(),
						nodeID: this.broker.nodeID,
					};
				},
			},

			/**
			 * Runs garbage collection now; answers what was (or, dry, would be) deleted. Ownership
			 * is no reference: a blob nothing references goes after the grace period, and its
			 * owners are forgotten with it.
			 */
			gc: fleetInternal({
				params: { dryRun: { type: "boolean", convert: true, optional: true } },
				handler(ctx: Context<GcParams>): Promise<GcReport> {
					return collector.run({ dryRun: ctx.params.dryRun ?? false });
				},
			}),
		},

		events: {
			// An uploader that left will send no more parts: free its temp files now, not
			// after the idle timeout.
			async "$node.disconnected"(ctx: Context<NodeDisconnectedPayload>) {
				const ids = await uploads.abandonFrom(ctx.params.node.id);
				if (ids.length > 0) {
					this.logger.info(
						`Abandoned upload(s) ${ids.join(", ")}: node ${ctx.params.node.id} left.`,
					);
				}
			},
		},

		created() {
			collector = new ArtifactCollector(
				store,
				options.referencedArtifacts,
				this.logger,
				sha256 => access.forget(sha256),
			);
		},

		async started() {
			const { removedTempFiles } = await store.open();
			if (store.cached)
				this.logger.info(`Artifacts are kept in ${store.backend.description}.`);
			if (removedTempFiles > 0) {
				this.logger.info(
					`Deleted ${removedTempFiles} temp file(s) of uploads cut off by an earlier stop.`,
				);
			}
			if (options.artifactGcIntervalS > 0) {
				const leadership = store.cached ? options.leadership : undefined;
				timers.push(
					setInterval(() => {
						if (leadership && !leadership.isLeader()) return;
						collector
							.run(leadership ? { fence: () => leadership.check() } : {})
							.catch((err: unknown) => this.logger.warn("Artifact GC failed:", err));
					}, options.artifactGcIntervalS * 1000),
				);
			}
			timers.push(
				setInterval(
					() => {
						uploads
							.expireIdle()
							.then(ids => {
								if (ids.length > 0)
									this.logger.info(
										`Abandoned idle upload(s): ${ids.join(", ")}.`,
									);
							})
							.catch((err: unknown) =>
								this.logger.warn("Could not expire idle uploads:", err),
							);
					},
					Math.min(UPLOAD_SWEEP_MS, store.options.uploadIdleTimeoutMs / 2),
				),
			);
			for (const timer of timers) timer.unref();
		},

		async stopped() {
			for (const timer of timers.splice(0)) clearInterval(timer);
			await uploads.abortIdle();
			await store.close();
		},
	};
}
