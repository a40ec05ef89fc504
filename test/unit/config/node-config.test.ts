import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { MasterKey } from "../../../lib/artifacts/encryption/master-key";
import { loadNodeConfig } from "../../../lib/config/node-config";
import { parseByteSize } from "../../../lib/settings/env-reader";
import { InvalidConfigurationError } from "../../../lib/errors";

const FLEET_SECRET = "0123456789abcdef0123456789abcdef";

describe("loadNodeConfig", () => {
	it("runs as one process with embedded defaults when nothing is set", () => {
		const config = loadNodeConfig("all-in-one", {});
		expect(config).toMatchObject({
			role: "all-in-one",
			nodeID: null,
			namespace: "modelfleet",
			transporter: null,
			redisUrl: null,
			databaseUrl: null,
			host: "0.0.0.0",
			port: 3000,
			dataDir: path.resolve("./data"),
			logLevel: "info",
			requestTimeoutMs: 30_000,
			retries: 3,
			heartbeatIntervalS: 5,
			heartbeatTimeoutS: 15,
			statusIntervalMs: 5000,
			shutdownTimeoutMs: 10_000,
			circuitBreaker: true,
			gcExternalMemoryInHeapLimit: true,
			gcYoungBufferMiB: 32,
			gcHeapGrowthPercent: 200,
			lostNodeProbeMs: 100,
			metricsPort: 3030,
			maxJsonDepth: 64,
			declaredCapacity: { cpus: null, memoryBytes: null, gpus: null },
		});
		expect(Object.isFrozen(config)).toBe(true);
	});

	it("takes every setting from the environment", () => {
		const config = loadNodeConfig("worker", {
			MODELFLEET_NODE_ID: "gpu-7",
			MODELFLEET_NAMESPACE: "prod",
			TRANSPORTER: "nats://nats.internal:4222",
			MODELFLEET_FLEET_SECRET: FLEET_SECRET,
			REDIS_URL: "redis://cache:6379/2",
			DATABASE_URL: "postgres://mf@db/modelfleet",
			HOST: "127.0.0.1",
			PORT: "8080",
			MODELFLEET_DATA_DIR: "/var/lib/modelfleet",
			LOG_LEVEL: "debug",
			MODELFLEET_REQUEST_TIMEOUT_MS: "5000",
			MODELFLEET_RETRIES: "1",
			MODELFLEET_HEARTBEAT_INTERVAL_S: "2",
			MODELFLEET_HEARTBEAT_TIMEOUT_S: "6",
			MODELFLEET_STATUS_INTERVAL_MS: "500",
			MODELFLEET_SHUTDOWN_TIMEOUT_MS: "2000",
			MODELFLEET_CIRCUIT_BREAKER: "off",
			MODELFLEET_GC_EXTERNAL_IN_HEAP_LIMIT: "false",
			MODELFLEET_GC_YOUNG_BUFFERS_MIB: "0",
			MODELFLEET_GC_HEAP_GROWTH_PERCENT: "0",
			MODELFLEET_LOST_NODE_PROBE_MS: "0",
			METRICS_PORT: "off",
			MODELFLEET_CPUS: "16",
			MODELFLEET_MEMORY: "64GiB",
			MODELFLEET_GPUS: '[{"name":"NVIDIA L4","memory":"24GiB"}]',
		});
		expect(config).toMatchObject({
			nodeID: "gpu-7",
			namespace: "prod",
			transporter: "nats://nats.internal:4222",
			fleetSecret: FLEET_SECRET,
			redisUrl: "redis://cache:6379/2",
			databaseUrl: "postgres://mf@db/modelfleet",
			host: "127.0.0.1",
			port: 8080,
			dataDir: "/var/lib/modelfleet",
			logLevel: "debug",
			requestTimeoutMs: 5000,
			retries: 1,
			heartbeatIntervalS: 2,
			heartbeatTimeoutS: 6,
			statusIntervalMs: 500,
			shutdownTimeoutMs: 2000,
			circuitBreaker: false,
			gcExternalMemoryInHeapLimit: false,
			gcYoungBufferMiB: 0,
			gcHeapGrowthPercent: 0,
			lostNodeProbeMs: 0,
			metricsPort: null,
		});
		expect(config.declaredCapacity.cpus).toBe(16);
		expect(config.declaredCapacity.memoryBytes).toBe(64 * 1024 ** 3);
		expect(config.declaredCapacity.gpus?.map(g => g.name)).toEqual(["NVIDIA L4"]);
	});

	it("trusts accounts' answers for MODELFLEET_ACCOUNTS_CACHE_MS, 10 s unless told, within 100 ms–1 h", () => {
		expect(loadNodeConfig("gateway", {}).accountsCacheMs).toBe(10_000);
		expect(
			loadNodeConfig("gateway", { MODELFLEET_ACCOUNTS_CACHE_MS: "500" }).accountsCacheMs,
		).toBe(500);
		for (const value of ["50", "3600001", "1.5", "soon"])
			expect(() =>
				loadNodeConfig("gateway", { MODELFLEET_ACCOUNTS_CACHE_MS: value }),
			).toThrow(/MODELFLEET_ACCOUNTS_CACHE_MS/);
	});

	it("forwards JSON infer bodies up to MODELFLEET_FORWARD_JSON_BYTES, 1 MiB unless told, 0 or off for none", () => {
		expect(loadNodeConfig("gateway", {}).forwardJsonBytes).toBe(1024 ** 2);
		expect(
			loadNodeConfig("gateway", { MODELFLEET_FORWARD_JSON_BYTES: "64KiB" }).forwardJsonBytes,
		).toBe(64 * 1024);
		for (const off of ["0", "off", "OFF"])
			expect(
				loadNodeConfig("gateway", { MODELFLEET_FORWARD_JSON_BYTES: off }).forwardJsonBytes,
			).toBe(0);
		for (const value of ["-1", "lots"])
			expect(() =>
				loadNodeConfig("gateway", { MODELFLEET_FORWARD_JSON_BYTES: value }),
			).toThrow(/MODELFLEET_FORWARD_JSON_BYTES/);
	});

	it("opens direct links in a fleet, on plain NATS unless told otherwise, where the settings say", () => {
		const fleet = {
			TRANSPORTER: "nats://127.0.0.1:4222",
			MODELFLEET_FLEET_SECRET: "x".repeat(32),
		};
		expect(loadNodeConfig("all-in-one", {}).directLinks).toBeNull();
		expect(loadNodeConfig("worker", fleet).directLinks).toMatchObject({
			host: "0.0.0.0",
			port: 0,
			advertiseHost: expect.stringMatching(/^[0-9.]+$/),
		});
		expect(
			loadNodeConfig("worker", {
				...fleet,
				MODELFLEET_DIRECT_LINK_HOST: "10.0.0.2",
				MODELFLEET_DIRECT_LINK_PORT: "4250",
				MODELFLEET_DIRECT_LINK_ADVERTISE: "worker-3.internal",
			}).directLinks,
		).toEqual({ host: "10.0.0.2", port: 4250, advertiseHost: "worker-3.internal" });
		expect(
			loadNodeConfig("worker", { ...fleet, MODELFLEET_DIRECT_LINKS: "off" }).directLinks,
		).toBeNull();
		// Links are not encrypted: a TLS bus keeps its packets unless told otherwise.
		const tls = { ...fleet, TRANSPORTER: "tls://127.0.0.1:4222" };
		expect(loadNodeConfig("worker", tls).directLinks).toBeNull();
		expect(
			loadNodeConfig("worker", { ...tls, MODELFLEET_DIRECT_LINKS: "on" }).directLinks,
		).not.toBeNull();
		for (const [setting, value] of [
			["MODELFLEET_DIRECT_LINK_PORT", "70000"],
			["MODELFLEET_DIRECT_LINK_ADVERTISE", "a host"],
			["MODELFLEET_DIRECT_LINKS", "maybe"],
		])
			expect(() => loadNodeConfig("worker", { ...fleet, [setting]: value })).toThrow(
				new RegExp(setting),
			);
	});

	it("takes the JSON depth limit from MODELFLEET_MAX_JSON_DEPTH, within 1–1000", () => {
		expect(loadNodeConfig("gateway", { MODELFLEET_MAX_JSON_DEPTH: "16" }).maxJsonDepth).toBe(
			16,
		);
		for (const value of ["0", "5000", "deep"])
			expect(() => loadNodeConfig("gateway", { MODELFLEET_MAX_JSON_DEPTH: value })).toThrow(
				/MODELFLEET_MAX_JSON_DEPTH/,
			);
	});

	it("requires a fleet secret of 32 characters or more with a transporter, except for the REPL", () => {
		const fleet = { TRANSPORTER: "nats://127.0.0.1:4222" };
		expect(() => loadNodeConfig("worker", fleet)).toThrow(
			/MODELFLEET_FLEET_SECRET: is required with TRANSPORTER/,
		);
		expect(() =>
			loadNodeConfig("worker", { ...fleet, MODELFLEET_FLEET_SECRET: "too-short" }),
		).toThrow(/MODELFLEET_FLEET_SECRET: must be at least 32 characters/);
		expect(loadNodeConfig("all-in-one", {}).fleetSecret).toBeNull();
		const repl = loadNodeConfig(
			"gateway",
			{ ...fleet, MODELFLEET_FLEET_SECRET: FLEET_SECRET },
			{ fleetNode: false },
		);
		expect(repl.fleetSecret).toBeNull();
		expect(loadNodeConfig("gateway", fleet, { fleetNode: false }).transporter).toBe(
			fleet.TRANSPORTER,
		);
	});

	it("serves an all-in-one node on MODELFLEET_SERVING_THREADS event loops, 1 unless told, alone only", () => {
		expect(loadNodeConfig("all-in-one", {}).servingThreads).toBe(1);
		expect(
			loadNodeConfig("all-in-one", { MODELFLEET_SERVING_THREADS: "4" }).servingThreads,
		).toBe(4);
		for (const value of ["0", "65", "two", "1.5"])
			expect(() =>
				loadNodeConfig("all-in-one", { MODELFLEET_SERVING_THREADS: value }),
			).toThrow(/MODELFLEET_SERVING_THREADS/);
		expect(() => loadNodeConfig("gateway", { MODELFLEET_SERVING_THREADS: "2" })).toThrow(
			/MODELFLEET_SERVING_THREADS: is for all-in-one nodes/,
		);
		expect(() =>
			loadNodeConfig("all-in-one", {
				MODELFLEET_SERVING_THREADS: "2",
				TRANSPORTER: "nats://127.0.0.1:4222",
				MODELFLEET_FLEET_SECRET: FLEET_SECRET,
			}),
		).toThrow(/MODELFLEET_SERVING_THREADS: is for an all-in-one node on its own/);
	});

	it("sends status as often as heartbeats unless told otherwise", () => {
		expect(
			loadNodeConfig("worker", { MODELFLEET_HEARTBEAT_INTERVAL_S: "1" }).statusIntervalMs,
		).toBe(1000);
	});

	it("reports every wrong setting at once, naming each and the accepted form", () => {
		let error: unknown;
		try {
			loadNodeConfig("gateway", {
				TRANSPORTER: "tcp://x",
				MODELFLEET_FLEET_SECRET: FLEET_SECRET,
				PORT: "eighty",
				LOG_LEVEL: "loud",
				MODELFLEET_HEARTBEAT_INTERVAL_S: "10",
				MODELFLEET_HEARTBEAT_TIMEOUT_S: "5",
				MODELFLEET_MEMORY: "a lot",
				MODELFLEET_GPUS: "two",
				MODELFLEET_CIRCUIT_BREAKER: "maybe",
			});
		} catch (err) {
			error = err;
		}
		expect(error).toBeInstanceOf(InvalidConfigurationError);
		const problems = (error as InvalidConfigurationError).data as {
			problems: { setting: string }[];
		};
		expect(problems.problems.map(p => p.setting).sort()).toEqual([
			"LOG_LEVEL",
			"MODELFLEET_CIRCUIT_BREAKER",
			"MODELFLEET_GPUS",
			"MODELFLEET_HEARTBEAT_TIMEOUT_S",
			"MODELFLEET_MEMORY",
			"PORT",
			"TRANSPORTER",
		]);
		expect((error as Error).message).toContain(
			'TRANSPORTER: "tcp://x" is not a NATS URL such as nats://127.0.0.1:4222',
		);
		expect((error as Error).message).toContain(
			'LOG_LEVEL: "loud" is not one of fatal, error, warn, info, debug, trace',
		);
	});
	it("serves gRPC on 8001 where HTTP is served, off or on a port of the setting", () => {
		expect(loadNodeConfig("all-in-one", {}).grpcPort).toBe(8001);
		expect(loadNodeConfig("all-in-one", { MODELFLEET_GRPC_PORT: "9001" }).grpcPort).toBe(9001);
		expect(loadNodeConfig("all-in-one", { MODELFLEET_GRPC_PORT: "0" }).grpcPort).toBe(0);
		expect(loadNodeConfig("all-in-one", { MODELFLEET_GRPC_PORT: "off" }).grpcPort).toBeNull();
		expect(
			loadNodeConfig("worker", {
				MODELFLEET_GRPC_PORT: "9001",
				TRANSPORTER: "nats://127.0.0.1:4222",
				MODELFLEET_FLEET_SECRET: "s".repeat(32),
			}).grpcPort,
		).toBeNull();
		expect(() => loadNodeConfig("all-in-one", { MODELFLEET_GRPC_PORT: "70000" })).toThrow(
			/MODELFLEET_GRPC_PORT/,
		);
	});
});

describe("loadNodeConfig, encryption at rest", () => {
	const key = MasterKey.generate();

	it("is off without a key, with decrypted copies outside the data directory", () => {
		const config = loadNodeConfig("all-in-one", { MODELFLEET_DATA_DIR: "/srv/mf" });
		expect(config.encryptionKey).toBeNull();
		expect(config.plaintextDir.startsWith("/srv/mf")).toBe(false);
	});

	it("reads the master key from the setting or from a file", () => {
		expect(
			loadNodeConfig("worker", { MODELFLEET_ENCRYPTION_KEY: key.toBase64() }).encryptionKey
				?.id,
		).toBe(key.id);
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mf-key-file-"));
		try {
			const file = path.join(dir, "key");
			fs.writeFileSync(file, key.toBase64() + "\n");
			expect(
				loadNodeConfig("worker", { MODELFLEET_ENCRYPTION_KEY_FILE: file }).encryptionKey
					?.id,
			).toBe(key.id);
		} finally {
			fs.rmSync(dir, { recursive: true, force: true });
		}
	});

	it("names every wrong encryption setting at once", () => {
		expect(() =>
			loadNodeConfig("control", {
				MODELFLEET_ENCRYPTION_KEY: "c2hvcnQ=",
				MODELFLEET_ENCRYPTION_KEY_NEW: "not a key",
				MODELFLEET_DATA_DIR: "/srv/mf",
				MODELFLEET_PLAINTEXT_DIR: "/srv/mf/plain",
			}),
		).toThrow(
			/MODELFLEET_ENCRYPTION_KEY: is not 32 bytes in base64[\s\S]*MODELFLEET_ENCRYPTION_KEY_NEW: is not 32 bytes/,
		);
		expect(() =>
			loadNodeConfig("control", {
				MODELFLEET_ENCRYPTION_KEY: key.toBase64(),
				MODELFLEET_ENCRYPTION_KEY_FILE: "/nonexistent",
			}),
		).toThrow(/set either MODELFLEET_ENCRYPTION_KEY or MODELFLEET_ENCRYPTION_KEY_FILE/);
		expect(() =>
			loadNodeConfig("control", {
				MODELFLEET_ENCRYPTION_KEY: key.toBase64(),
				MODELFLEET_DATA_DIR: "/srv/mf",
				MODELFLEET_PLAINTEXT_DIR: "/srv/mf/plain",
			}),
		).toThrow(/MODELFLEET_PLAINTEXT_DIR: "\/srv\/mf\/plain" is inside the data directory/);
		expect(() =>
			loadNodeConfig("control", { MODELFLEET_ENCRYPTION_KEY_FILE: "/nonexistent/key" }),
		).toThrow(/MODELFLEET_ENCRYPTION_KEY_FILE: cannot read/);
	});
});

describe("parseByteSize", () => {
	it.each([
		["1024", 1024],
		["16GiB", 16 * 1024 ** 3],
		["16 GB", 16e9],
		["512Mi", 512 * 1024 ** 2],
		["1.5KiB", 1536],
	])("reads %s as %d bytes", (text, bytes) => {
		expect(parseByteSize(text)).toBe(bytes);
	});

	it.each(["", "GiB", "12 parsecs", "-5"])("refuses %p", text => {
		expect(parseByteSize(text)).toBeNull();
	});
});
