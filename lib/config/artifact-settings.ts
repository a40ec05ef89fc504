/**
 * Where the artifact store keeps its blobs: MODELFLEET_ARTIFACTS and the settings of the
 * backend it names (lib/artifacts/backends/). A fleet's control node defaults to the
 * JetStream Object Store of its NATS; a node without a transporter to its data directory.
 */
import type { NodeRole } from "../fleet/node-role";
import {
	ARTIFACTS_FORM,
	parseArtifactsLocation,
	type ArtifactsBackendSetting,
} from "../artifacts/backends";
import {
	S3_DEFAULT_PART_BYTES,
	S3_MAX_PART_BYTES,
	S3_MIN_PART_BYTES,
} from "../artifacts/backends/s3";
import { natsConnectOptions } from "../fleet/nats-connect-options";
import type { EnvReader } from "../settings/env-reader";
import { parseByteSize } from "../settings/env-reader";
import type { NatsSettings } from "../settings/nats-settings";

export const ARTIFACTS_SETTING = "MODELFLEET_ARTIFACTS";

/** The default bucket of a namespace: JetStream names allow letters, digits, '-' and '_'. */
export function defaultNatsBucket(namespace: string): string {
	return `${namespace.replace(/[^\w-]/g, "-")}-artifacts`;
}

type ParsedLocation = Exclude<ReturnType<typeof parseArtifactsLocation>, string>;

/** The nats backend: its bucket and replicas, on the fleet's NATS (local, with a problem, without one). */
function readNatsBackend(
	read: EnvReader,
	context: { namespace: string; nats: NatsSettings | null },
	setting: string,
): ArtifactsBackendSetting {
	const bucket = read.string(
		"MODELFLEET_ARTIFACTS_NATS_BUCKET",
		defaultNatsBucket(context.namespace),
	);
	if (!/^[\w-]+$/.test(bucket)) {
		read.fail(
			"MODELFLEET_ARTIFACTS_NATS_BUCKET",
			`"${bucket}" is not a bucket name (letters, digits, '-' and '_')`,
		);
	}
	const replicas = read.number("MODELFLEET_ARTIFACTS_NATS_REPLICAS", 1, {
		min: 1,
		max: 5,
		integer: true,
	});
	if (context.nats === null) {
		read.fail(
			setting,
			"nats keeps the blobs on the fleet's NATS, but TRANSPORTER names no NATS server; set TRANSPORTER or use local",
		);
		return { kind: "local" };
	}
	const { servers, connection } = natsConnectOptions(context.nats);
	return {
		kind: "nats",
		bucket,
		replicas,
		nats: { servers, connection, displayUrl: context.nats.displayUrl },
	};
}

/** The s3 backend: its endpoint, credentials (both or neither), region and part size. */
function readS3Backend(
	read: EnvReader,
	parsed: Extract<ParsedLocation, { kind: "s3" }>,
): ArtifactsBackendSetting {
	const endpoint = read.optionalString("MODELFLEET_ARTIFACTS_S3_ENDPOINT");
	if (endpoint !== null && !/^https?:\/\/[^\s/]+/.test(endpoint)) {
		read.fail(
			"MODELFLEET_ARTIFACTS_S3_ENDPOINT",
			`"${endpoint}" is not an http:// or https:// URL`,
		);
	}
	const accessKeyId = read.optionalString("MODELFLEET_ARTIFACTS_S3_ACCESS_KEY_ID");
	const secretAccessKey = read.optionalString("MODELFLEET_ARTIFACTS_S3_SECRET_ACCESS_KEY");
	if ((accessKeyId === null) !== (secretAccessKey === null)) {
		read.fail(
			accessKeyId === null
				? "MODELFLEET_ARTIFACTS_S3_ACCESS_KEY_ID"
				: "MODELFLEET_ARTIFACTS_S3_SECRET_ACCESS_KEY",
			"set both MODELFLEET_ARTIFACTS_S3_ACCESS_KEY_ID and MODELFLEET_ARTIFACTS_S3_SECRET_ACCESS_KEY, or neither (the AWS SDK's default credentials)",
		);
	}
	const partText = read.raw("MODELFLEET_ARTIFACTS_S3_PART_BYTES");
	let partBytes = S3_DEFAULT_PART_BYTES;
	if (partText !== undefined) {
		const bytes = parseByteSize(partText);
		if (bytes === null || bytes < S3_MIN_PART_BYTES || bytes > S3_MAX_PART_BYTES) {
			read.fail(
				"MODELFLEET_ARTIFACTS_S3_PART_BYTES",
				`"${partText}" is not a size from 5MiB to 5GiB (S3's part limits)`,
			);
		} else {
			partBytes = bytes;
		}
	}
	return {
		kind: "s3",
		bucket: parsed.bucket,
		prefix: parsed.prefix,
		endpoint,
		region: read.string("MODELFLEET_ARTIFACTS_S3_REGION", "us-east-1"),
		credentials:
			accessKeyId !== null && secretAccessKey !== null
				? { accessKeyId, secretAccessKey }
				: null,
		forcePathStyle: read.boolean("MODELFLEET_ARTIFACTS_S3_FORCE_PATH_STYLE", endpoint !== null),
		partBytes,
	};
}

/**
 * The backend setting of a node. `location` overrides MODELFLEET_ARTIFACTS (the arguments of
 * `modelfleet migrate-artifacts`), naming `setting` in its problems.
 */
export function readArtifactsSetting(
	read: EnvReader,
	context: { role: NodeRole; namespace: string; nats: NatsSettings | null },
	location: { setting: string; text: string | undefined } = {
		setting: ARTIFACTS_SETTING,
		text: read.raw(ARTIFACTS_SETTING),
	},
): ArtifactsBackendSetting {
	const fallback = context.role === "control" && context.nats !== null ? "nats" : "local";
	const parsed = parseArtifactsLocation(location.text ?? fallback);
	if (typeof parsed === "string") {
		read.fail(location.setting, `${parsed} (${ARTIFACTS_FORM})`);
		return { kind: "local" };
	}
	switch (parsed.kind) {
		case "local":
			return parsed;
		case "nats":
			return readNatsBackend(read, context, location.setting);
		case "s3":
			return readS3Backend(read, parsed);
	}
}
