import { loadNodeConfig } from "../../../lib/config/node-config";
import { InvalidConfigurationError } from "../../../lib/errors";

const FLEET = {
	TRANSPORTER: "nats://127.0.0.1:4222",
	MODELFLEET_NAMESPACE: "prod.eu",
	MODELFLEET_FLEET_SECRET: "0123456789abcdef0123456789abcdef",
};

function problems(role: "control" | "all-in-one", env: Record<string, string>): string[] {
	try {
		loadNodeConfig(role, env);
	} catch (err) {
		if (err instanceof InvalidConfigurationError) {
			return (err.data as { problems: { setting: string }[] }).problems.map(p => p.setting);
		}
		throw err;
	}
	return [];
}

describe("MODELFLEET_ARTIFACTS", () => {
	it("defaults to the JetStream object store on a fleet's control node, local elsewhere", () => {
		expect(loadNodeConfig("control", FLEET).artifacts).toMatchObject({
			kind: "nats",
			bucket: "prod-eu-artifacts",
			replicas: 1,
			nats: { servers: ["127.0.0.1:4222"] },
		});
		expect(loadNodeConfig("control", {}).artifacts).toEqual({ kind: "local" });
		expect(loadNodeConfig("all-in-one", FLEET).artifacts).toEqual({ kind: "local" });
		expect(
			loadNodeConfig("control", { ...FLEET, MODELFLEET_ARTIFACTS: "local" }).artifacts,
		).toEqual({ kind: "local" });
	});

	it("reads the bucket and replicas of nats", () => {
		expect(
			loadNodeConfig("control", {
				...FLEET,
				MODELFLEET_ARTIFACTS: "nats",
				MODELFLEET_ARTIFACTS_NATS_BUCKET: "models",
				MODELFLEET_ARTIFACTS_NATS_REPLICAS: "3",
			}).artifacts,
		).toMatchObject({ kind: "nats", bucket: "models", replicas: 3 });
	});

	it("reads an s3:// location with its endpoint, credentials and part size", () => {
		expect(
			loadNodeConfig("control", {
				MODELFLEET_ARTIFACTS: "s3://ml-artifacts/fleet/prod/",
				MODELFLEET_ARTIFACTS_S3_ENDPOINT: "http://minio:9000",
				MODELFLEET_ARTIFACTS_S3_ACCESS_KEY_ID: "id",
				MODELFLEET_ARTIFACTS_S3_SECRET_ACCESS_KEY: "secret",
				MODELFLEET_ARTIFACTS_S3_PART_BYTES: "16MiB",
			}).artifacts,
		).toEqual({
			kind: "s3",
			bucket: "ml-artifacts",
			prefix: "fleet/prod",
			endpoint: "http://minio:9000",
			region: "us-east-1",
			credentials: { accessKeyId: "id", secretAccessKey: "secret" },
			forcePathStyle: true,
			partBytes: 16 * 1024 * 1024,
		});
		expect(
			loadNodeConfig("control", { MODELFLEET_ARTIFACTS: "s3://ml-artifacts" }).artifacts,
		).toMatchObject({ prefix: "", endpoint: null, credentials: null, forcePathStyle: false });
	});

	it("reports every wrong setting at once, naming it", () => {
		expect(
			problems("control", {
				MODELFLEET_ARTIFACTS: "s3://Bad_Bucket",
				MODELFLEET_MAX_ARTIFACT_BYTES: "lots",
			}),
		).toEqual(["MODELFLEET_MAX_ARTIFACT_BYTES", "MODELFLEET_ARTIFACTS"]);
		expect(
			problems("control", {
				MODELFLEET_ARTIFACTS: "s3://ml-artifacts",
				MODELFLEET_ARTIFACTS_S3_ENDPOINT: "minio:9000",
				MODELFLEET_ARTIFACTS_S3_ACCESS_KEY_ID: "id",
				MODELFLEET_ARTIFACTS_S3_PART_BYTES: "1MiB",
				MODELFLEET_ARTIFACTS_S3_FORCE_PATH_STYLE: "maybe",
			}),
		).toEqual([
			"MODELFLEET_ARTIFACTS_S3_ENDPOINT",
			"MODELFLEET_ARTIFACTS_S3_SECRET_ACCESS_KEY",
			"MODELFLEET_ARTIFACTS_S3_PART_BYTES",
			"MODELFLEET_ARTIFACTS_S3_FORCE_PATH_STYLE",
		]);
		expect(
			problems("control", {
				...FLEET,
				MODELFLEET_ARTIFACTS: "nats",
				MODELFLEET_ARTIFACTS_NATS_BUCKET: "a.b",
				MODELFLEET_ARTIFACTS_NATS_REPLICAS: "7",
			}),
		).toEqual(["MODELFLEET_ARTIFACTS_NATS_BUCKET", "MODELFLEET_ARTIFACTS_NATS_REPLICAS"]);
		expect(problems("all-in-one", { MODELFLEET_ARTIFACTS: "nats" })).toEqual([
			"MODELFLEET_ARTIFACTS",
		]);
		expect(problems("control", { MODELFLEET_ARTIFACTS: "ftp://x" })).toEqual([
			"MODELFLEET_ARTIFACTS",
		]);
	});
});
