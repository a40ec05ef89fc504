import * as path from "node:path";
import { servingThreadNodeID, threadEnvironment } from "../../../nodes/serving-threads";

const OPTIONS = {
	env: {
		PORT: "0",
		HOST: "127.0.0.1",
		MODELFLEET_DATA_DIR: "/srv/mf",
		MODELFLEET_HEALTH_PORT: "9102",
		MODELFLEET_BOOTSTRAP_KEY: "mf_bootstrap-key-0000000000000000",
		MODELFLEET_SERVING_THREADS: "3",
		MODELFLEET_ENCRYPTION_KEY: "k".repeat(44),
		REDIS_URL: "redis://127.0.0.1:6379",
	},
	port: 8080,
	fleetSecret: "s".repeat(43),
	dataDir: "/srv/mf",
	plaintextDir: "/dev/shm/modelfleet-abc",
	modelCacheBytes: 1024 ** 3,
};

describe("threadEnvironment", () => {
	const env = threadEnvironment(OPTIONS, "node-a", 2);

	it("listens on the port the main thread got, as a node of its own signed with the main thread's secret", () => {
		expect(env).toMatchObject({
			PORT: "8080",
			HOST: "127.0.0.1",
			MODELFLEET_NODE_ID: "node-a-serving-2",
			MODELFLEET_FLEET_SECRET: OPTIONS.fleetSecret,
			MODELFLEET_SERVING_THREADS: "1",
		});
		expect(servingThreadNodeID("node-a", 2)).toBe(env.MODELFLEET_NODE_ID);
	});

	it("keeps its files and decrypted copies in folders of its own, with its share of model memory", () => {
		expect(env.MODELFLEET_DATA_DIR).toBe(path.join("/srv/mf", "serving-threads", "2"));
		expect(env.MODELFLEET_PLAINTEXT_DIR).toBe(
			path.join("/dev/shm/modelfleet-abc", "serving-2"),
		);
		expect(env.MODELFLEET_MODEL_CACHE_BYTES).toBe(String(1024 ** 3));
	});

	it("leaves the health port, metrics, gRPC and the bootstrap key to the main thread, and keeps the rest", () => {
		expect(env.MODELFLEET_HEALTH_PORT).toBeUndefined();
		expect(env.MODELFLEET_BOOTSTRAP_KEY).toBeUndefined();
		expect(env).toMatchObject({ METRICS_PORT: "off", MODELFLEET_GRPC_PORT: "off" });
		expect(env.MODELFLEET_ENCRYPTION_KEY).toBe(OPTIONS.env.MODELFLEET_ENCRYPTION_KEY);
		expect(env.REDIS_URL).toBe(OPTIONS.env.REDIS_URL);
	});
});
