/**
 * An all-in-one node started in the test's own process for integration tests: its gateway on
 * a free port of 127.0.0.1, a fresh data directory, a bootstrap owner key, and a JSON client
 * for its `/api/v1` routes that sends that key.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startNode, type StartedNode } from "../../nodes/start-node";
import { freePort } from "./node-process";
import { seedPgliteDatabase } from "./pglite-template";

/** What the gateway answered: the status, the body parsed as JSON, and the headers. */
export interface TestReply {
	status: number;
	body: unknown;
	headers: Headers;
}

export interface TestRequestInit {
	/** GET unless given. */
	method?: string;
	/** Sent as JSON (with its content type) when given. */
	body?: unknown;
	/** Added to (or replacing) the authorization and content-type headers. */
	headers?: Record<string, string>;
}

export interface TestNode {
	node: StartedNode;
	/** The gateway's `/api/v1` base URL. */
	api: string;
	/** The node's data directory, removed by `stop()`. */
	dataDir: string;
	/** Calls an `/api/v1` route (`path` starts with `/`) with the bootstrap key as Bearer. */
	request(path: string, init?: TestRequestInit): Promise<TestReply>;
	/** Stops the node, then removes its data directory. */
	stop(): Promise<void>;
}

/** A JSON client of a gateway's `/api/v1` routes (`path` starts with `/`) that sends `key` as Bearer. */
export function apiClient(
	api: string,
	key: string,
): (path: string, init?: TestRequestInit) => Promise<TestReply> {
	return async (url, init = {}) => {
		const response = await fetch(`${api}${url}`, {
			method: init.method ?? "GET",
			headers: {
				authorization: `Bearer ${key}`,
				...(init.body !== undefined ? { "content-type": "application/json" } : {}),
				...init.headers,
			},
			body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
		});
		return { status: response.status, body: await response.json(), headers: response.headers };
	};
}

/**
 * Status and reconcile loops fast enough for a test to see deployments and jobs move, and
 * no GPUs whatever the machine has.
 */
export const FAST_LOOPS_CPU_ONLY: Readonly<Record<string, string>> = {
	MODELFLEET_STATUS_INTERVAL_MS: "200",
	MODELFLEET_RECONCILE_INTERVAL_MS: "100",
	MODELFLEET_GPUS: "none",
};

/**
 * Starts an all-in-one node with `key` as its bootstrap owner key; `env` adds to or overrides
 * the defaults (HOST 127.0.0.1, a free PORT, METRICS_PORT off, LOG_LEVEL warn, a new
 * MODELFLEET_DATA_DIR). Without DATABASE_URL its PGlite database starts as a copy of a migrated
 * one (test/support/pglite-template.ts). What the node prints is dropped.
 */
export async function startTestNode(
	key: string,
	env: Readonly<Record<string, string>> = {},
): Promise<TestNode> {
	const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mf-test-node-"));
	let node: StartedNode;
	try {
		if (!env.DATABASE_URL) await seedPgliteDatabase(env.MODELFLEET_DATA_DIR ?? dataDir);
		node = await startNode(
			"all-in-one",
			{
				HOST: "127.0.0.1",
				PORT: String(await freePort()),
				METRICS_PORT: "off",
				// Parallel tests would all bind 8001: gRPC only where a test asks for it.
				MODELFLEET_GRPC_PORT: "off",
				LOG_LEVEL: "warn",
				MODELFLEET_DATA_DIR: dataDir,
				MODELFLEET_BOOTSTRAP_KEY: key,
				...env,
			},
			() => undefined,
		);
	} catch (err) {
		fs.rmSync(dataDir, { recursive: true, force: true });
		throw err;
	}
	const api = `${node.httpUrl}/api/v1`;

	const request = apiClient(api, key);

	return {
		node,
		api,
		dataDir,
		request,
		async stop() {
			try {
				await node.stop();
			} finally {
				fs.rmSync(dataDir, { recursive: true, force: true });
			}
		},
	};
}
