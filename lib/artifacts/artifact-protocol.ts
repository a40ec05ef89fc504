/**
 * What the `artifacts` service accepts and answers, shared by the service and its clients
 * (the upload and download helpers, the workers' cache).
 */
import type { Readable } from "node:stream";

/** The service's name; belongs with the others in lib/fleet/node-role.ts SERVICE. */
export const ARTIFACTS_SERVICE = "artifacts";

export const ARTIFACT_ACTIONS = {
	put: `${ARTIFACTS_SERVICE}.put`,
	get: `${ARTIFACTS_SERVICE}.get`,
	stat: `${ARTIFACTS_SERVICE}.stat`,
	gc: `${ARTIFACTS_SERVICE}.gc`,
} as const;

/**
 * Over a transporter a Moleculer stream has no back-pressure (each chunk is published as soon
 * as it is read), so clients move big blobs in parts of this size, one part in flight: memory
 * stays bounded by the part, whatever the blob's size. Measured on 300 MB over NATS (2 cores):
 * 1 MiB parts kept every process's peak RSS growth near 65–85 MB, 8 MiB parts near 70–105 MB,
 * at about the same speed; the rest of that growth is garbage V8 collects in 64 MB steps.
 */
export const DEFAULT_PART_BYTES = 1024 * 1024;

/**
 * `put` params. Without `uploadId` the call's stream is the whole content. With it, the stream
 * is one part of a multipart upload: parts arrive in order (`offset` = bytes sent before), and
 * the call with `final: true` (its stream optional) stores the blob.
 */
export interface PutParams {
	/** When given, a mismatch fails the upload with ARTIFACT_CORRUPT and nothing is kept. */
	expectedSha256?: string;
	uploadId?: string;
	offset?: number;
	final?: boolean;
}

/** A blob stored (or found already stored). */
export interface StoredArtifact {
	sha256: string;
	size: number;
	/** false: identical content was already stored; nothing was written. */
	created: boolean;
}

/** The answer to a non-final part. */
export interface PartReceived {
	uploadId: string;
	/** Bytes received so far: the next part's offset. */
	received: number;
	/** The node holding the upload: send the remaining parts there. */
	nodeID: string;
}

export type PutResult = StoredArtifact | PartReceived;

export interface GetParams {
	sha256: string;
	/** First byte to send; default 0. */
	offset?: number;
	/** Bytes to send; default to the end. */
	length?: number;
}

export interface StatParams {
	sha256: string;
}

export interface ArtifactStat {
	sha256: string;
	size: number;
	/** When the blob was first stored (ISO 8601). */
	createdAt: string;
	/** When its content was last put; GC's grace period counts from here (ISO 8601). */
	lastStoredAt: string;
	/** The node whose disk holds it: fetch its bytes from there. */
	nodeID: string;
}

export interface GcParams {
	/** Report what would be deleted, delete nothing. */
	dryRun?: boolean;
}

export interface GcReport {
	/** Why nothing was considered (no reference provider, or it failed); absent when GC ran. */
	skipped?: string;
	dryRun: boolean;
	deleted: { sha256: string; size: number }[];
	freedBytes: number;
	kept: { referenced: number; withinGrace: number };
}

/** Options of a call as the helpers use them: a subset of Moleculer's CallingOptions. */
export interface ArtifactCallOptions {
	stream?: Readable;
	nodeID?: string;
	timeout?: number;
}

/**
 * How the helpers reach the service: `broker.call.bind(broker)` or `ctx.call.bind(ctx)`.
 * Injected, so tests can hand in a fake.
 */
export type ArtifactCall = (
	action: string,
	params: object,
	options?: ArtifactCallOptions,
) => Promise<unknown>;
