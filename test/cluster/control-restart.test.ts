/**
 * A control node killed with SIGKILL in the middle of a model upload, then started again on
 * the same database and data directory: what was committed is all there; the interrupted
 * upload left no version, and after garbage collection no blob that nothing references.
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { ServiceBroker } from "moleculer";
import { createBrokerOptions } from "../../moleculer.config";
import { loadNodeConfig } from "../../lib/config/node-config";
import { createPostgresDatabase } from "../support/databases";
import { describeWithServices, serviceUrl } from "../support/external-services";
import { TEST_FLEET_SECRET, testTrust } from "../support/fleet-secret";
import { accessMiddleware } from "../../lib/accounts/access";
import { deterministicStream } from "../support/artifact-data";
import { deleteEventStream } from "../support/fleet-processes";
import { NodeProcess, freePort } from "../support/node-process";
import { waitFor } from "../support/wait";
import { writeMlpModel } from "../unit/onnx/example-models";

const OWNER_KEY = `mf_restart-test-${randomUUID()}`;

function listFiles(dir: string): string[] {
	if (!fs.existsSync(dir)) return [];
	return fs
		.readdirSync(dir, { recursive: true, withFileTypes: true })
		.filter(e => e.isFile())
		.map(e => e.name);
}

describeWithServices(["nats", "postgres"], "a control node killed mid-upload and restarted", () => {
	const namespace = `restart-test-${randomUUID().slice(0, 8)}`;
	const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mf-restart-"));
	const artifactsDir = path.join(dataDir, "artifacts");
	const processes: NodeProcess[] = [];
	let database: { url: string; drop(): Promise<void> };
	let base: string;
	let client: ServiceBroker;

	const common = () => ({
		TRANSPORTER: serviceUrl("nats"),
		MODELFLEET_FLEET_SECRET: TEST_FLEET_SECRET,
		MODELFLEET_NAMESPACE: namespace,
		METRICS_PORT: "off",
		LOG_LEVEL: "warn",
		MODELFLEET_HEARTBEAT_INTERVAL_S: "1",
		MODELFLEET_HEARTBEAT_TIMEOUT_S: "3",
	});
	/** Starts a control node; its node ID is `control-<n>`, n counting every process started. */
	const startControl = () => {
		const control = NodeProcess.start("control", "control", {
			...common(),
			MODELFLEET_NODE_ID: `control-${processes.length}`,
			DATABASE_URL: database.url,
			MODELFLEET_DATA_DIR: dataDir,
			MODELFLEET_BOOTSTRAP_KEY: OWNER_KEY,
			MODELFLEET_ARTIFACT_GC_INTERVAL_S: "0",
			MODELFLEET_ARTIFACT_GC_GRACE_S: "0",
			MODELFLEET_ARTIFACTS: "local",
		});
		processes.push(control);
		return control;
	};

	async function api(
		method: string,
		route: string,
		body?: unknown,
	): Promise<{ status: number; body: unknown }> {
		const response = await fetch(`${base}${route}`, {
			method,
			headers: { authorization: `Bearer ${OWNER_KEY}`, "content-type": "application/json" },
			body: body === undefined ? undefined : JSON.stringify(body),
		});
		return { status: response.status, body: await response.json() };
	}

	/** Streams `size` bytes as a model upload; resolves with the status or the connection's error. */
	function streamUpload(route: string, size: number): Promise<string> {
		return new Promise(resolve => {
			const request = http.request(`${base}${route}`, {
				method: "POST",
				headers: {
					authorization: `Bearer ${OWNER_KEY}`,
					"content-type": "application/octet-stream",
				},
			});
			request.on("response", response => {
				response.resume();
				response.on("end", () => resolve(`HTTP ${response.statusCode}`));
			});
			request.on("error", err => resolve(`error ${err.message}`));
			deterministicStream(size, 7).pipe(request);
		});
	}

	// This fleet has no worker: the gateway is ready but for a predictor once control is up.
	const ready = () =>
		waitFor(
			"the gateway ready with a control node",
			async () => {
				const answer = (await (await fetch(`${base}/health/ready`)).json()) as {
					missing: string[];
				};
				return answer.missing.join() === "predictor" ? true : undefined;
			},
			20_000,
		);

	beforeAll(async () => {
		database = await createPostgresDatabase();
		const port = await freePort();
		base = `http://127.0.0.1:${port}`;
		processes.push(
			NodeProcess.start("gateway", "gateway", {
				...common(),
				MODELFLEET_NODE_ID: "gateway",
				HOST: "127.0.0.1",
				PORT: String(port),
				MODELFLEET_DATA_DIR: path.join(dataDir, "gateway"),
			}),
		);
		startControl();
		client = new ServiceBroker(
			createBrokerOptions(
				loadNodeConfig("gateway", {
					...common(),
					MODELFLEET_NODE_ID: "test-client",
					LOG_LEVEL: "error",
				}),
				// A node of the fleet: its own calls (artifacts.gc) carry its service identity.
				{ middlewares: [accessMiddleware(testTrust())] },
			),
		);
		await client.start();
		await ready().catch(err => {
			throw new Error(`${(err as Error).message}\n${processes.map(p => p.log).join("\n")}`);
		});
	}, 40_000);

	afterAll(async () => {
		await client?.stop();
		for (const p of processes) p.kill("SIGKILL");
		await Promise.all(processes.map(p => p.exited));
		await database?.drop();
		fs.rmSync(dataDir, { recursive: true, force: true });
		await deleteEventStream(namespace);
	});

	it("keeps committed work and leaves neither a version nor a blob of the interrupted upload", async () => {
		// Committed before the crash: a model with an imported version, and one without files.
		expect(
			(
				await api("POST", "/api/v1/models", {
					name: "kept",
					task: "classification",
					framework: "onnx",
				})
			).status,
		).toBe(201);
		const imported = await fetch(`${base}/api/v1/models/kept/versions/upload?version=1.0.0`, {
			method: "POST",
			headers: { authorization: `Bearer ${OWNER_KEY}` },
			body: writeMlpModel(),
		});
		expect(imported.status).toBe(201);
		const keptSha = ((await imported.json()) as { artifact: { sha256: string } }).artifact
			.sha256;
		expect(
			(
				await api("POST", "/api/v1/models", {
					name: "plain",
					task: "other",
					framework: "onnx",
				})
			).status,
		).toBe(201);
		const schema = {
			inputs: [{ name: "x", datatype: "FP32", shape: [-1, 1] }],
			outputs: [{ name: "y", datatype: "FP32", shape: [-1] }],
		};
		expect(
			(
				await api("POST", "/api/v1/models/plain/versions", {
					version: "0.1.0",
					format: "onnx",
					schema,
				})
			).status,
		).toBe(201);

		// A complete upload that is not a model: refused, its blob unreferenced.
		const garbage = await streamUpload(
			"/api/v1/models/kept/versions/upload?version=1.0.1&format=onnx",
			3 * 1024 * 1024,
		);
		expect(garbage).toBe("HTTP 400");

		// The upload cut off by the crash.
		const victim = processes[1];
		const cut = streamUpload(
			"/api/v1/models/kept/versions/upload?version=2.0.0&format=onnx",
			400 * 1024 * 1024,
		);
		await waitFor(
			"the upload arriving at the control node",
			() => (listFiles(path.join(artifactsDir, "tmp")).length > 0 ? true : undefined),
			20_000,
			20,
		);
		victim.kill("SIGKILL");
		await victim.exited;
		expect(await cut).not.toBe("HTTP 201");

		const restartedID = `control-${processes.length}`;
		startControl();
		await ready();
		const versions = async (model: string) =>
			(
				(await api("GET", `/api/v1/models/${model}/versions`)).body as {
					items: { version: string }[];
				}
			).items.map(v => v.version);
		await waitFor(
			"the registry answering again",
			async () => ((await api("GET", "/api/v1/models")).status === 200 ? true : undefined),
			10_000,
		);
		expect(
			((await api("GET", "/api/v1/models")).body as { items: { name: string }[] }).items.map(
				m => m.name,
			),
		).toEqual(["kept", "plain"]);
		expect(await versions("kept")).toEqual(["1.0.0"]);
		expect(await versions("plain")).toEqual(["0.1.0"]);

		// The interrupted upload's temp file went at restart; GC removes the refused upload's blob.
		expect(listFiles(path.join(artifactsDir, "tmp"))).toEqual([]);
		await waitFor(
			"the restarted control node's artifacts service",
			() =>
				client.registry
					.getServiceList({ onlyAvailable: true })
					.some(service => service.name === "artifacts" && service.nodeID === restartedID)
					? true
					: undefined,
			10_000,
		);
		// Asked of the restarted node by name: the killed one may still be in this client's
		// registry, and a call to it fails at once (never run twice) when it is found gone.
		const report = await client.call<{ deleted: string[] }, { dryRun: boolean }>(
			"artifacts.gc",
			{ dryRun: false },
			{ nodeID: restartedID },
		);
		expect(report.deleted).toHaveLength(1);
		expect(listFiles(path.join(artifactsDir, "sha256"))).toEqual([keptSha]);
	}, 120_000);
});
