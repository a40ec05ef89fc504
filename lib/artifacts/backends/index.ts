/**
 * The artifact store's backend by MODELFLEET_ARTIFACTS (docs/operations.md, "Choosing where
 * artifacts live"): `local` (this node's data directory), `nats` (a JetStream Object Store on
 * the fleet's NATS) or `s3://bucket/prefix` (S3-compatible object storage).
 */
import * as path from "node:path";
import type { BlobBackend } from "./base";
import { LocalBlobBackend } from "./local";
import { NatsBlobBackend, type NatsReach } from "./nats";
import { S3BlobBackend, type S3BlobBackendOptions } from "./s3";

export type { BlobBackend, BlobBackendKind, BlobObject, BlobPutInfo, StoredRange } from "./base";
export { LocalBlobBackend } from "./local";
export { NatsBlobBackend, type NatsReach } from "./nats";
export { S3BlobBackend } from "./s3";

/** Where MODELFLEET_ARTIFACTS says the blobs are, before the other settings join in. */
export type ArtifactsLocation =
	{ kind: "local" } | { kind: "nats" } | { kind: "s3"; bucket: string; prefix: string };

export const ARTIFACTS_FORM = "local, nats or s3://bucket/prefix";

/** S3's bucket naming rules (3–63 lower-case letters, digits, dots and hyphens). */
const S3_BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** The location a setting (or a migrate-artifacts argument) names, or what is wrong with it. */
export function parseArtifactsLocation(text: string): ArtifactsLocation | string {
	const value = text.trim();
	if (value === "local" || value === "nats") return { kind: value };
	const s3 = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(value);
	if (s3) {
		if (!S3_BUCKET.test(s3[1])) {
			return `"${s3[1]}" is not an S3 bucket name (3–63 lower-case letters, digits, dots and hyphens)`;
		}
		return { kind: "s3", bucket: s3[1], prefix: (s3[2] ?? "").replace(/^\/+|\/+$/g, "") };
	}
	return `"${value}" is not one of ${ARTIFACTS_FORM}`;
}

/** Everything a backend is built from: the location and the settings of its kind. */
export type ArtifactsBackendSetting =
	| { kind: "local" }
	| { kind: "nats"; bucket: string; replicas: number; nats: NatsReach }
	| ({ kind: "s3" } & S3BlobBackendOptions);

/**
 * The backend of a setting. `localRoot` is the directory of the local backend, and for the
 * others the node's cache of what it read.
 */
export function createBlobBackend(
	setting: ArtifactsBackendSetting,
	localRoot: string,
	connectionName?: string,
): BlobBackend {
	switch (setting.kind) {
		case "local":
			return new LocalBlobBackend(path.resolve(localRoot));
		case "nats":
			return new NatsBlobBackend({
				nats: setting.nats,
				bucket: setting.bucket,
				replicas: setting.replicas,
				connectionName,
			});
		case "s3":
			return new S3BlobBackend(setting);
	}
}
