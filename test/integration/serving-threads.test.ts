/**
 * An all-in-one node serving on two threads (MODELFLEET_SERVING_THREADS=2): both listen on the
 * node's port, each serves what it accepts with the same answers, keys and tenancy as the main
 * thread, /metrics counts every request once, and a thread that dies comes back.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { recordKey } from "../../lib/artifacts/encryption/key-check";
import { MasterKey } from "../../lib/artifacts/encryption/master-key";
import { FAST_LOOPS_CPU_ONLY, startTestNode, type TestNode } from "../support/test-node";
import { freePort } from "../support/node-process";
import { deployAndWait, publishModel } from "../support/fleet-api";
import { sampleSum } from "../support/promtool";
import { waitFor } from "../support/wait";
import { writeMlpModel } from "../unit/onnx/example-models";
import type { MetricsJson } from "../../lib/metrics/metrics-aggregation";

const KEY = "mf_serving-threads-test-key-0001";

/** One request on a connection of its own, so the kernel picks the thread each time. */
function freshRequest(
	url: string,
	init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; body: string }> {
	return new Promise((resolve, reject) => {
		const req = http.request(
			url,
			{ method: init.method ?? "GET", headers: init.headers, agent: false },
			res => {
				const chunks: Buffer[] = [];
				res.on("data", (chunk: Buffer) => chunks.push(chunk));
				res.on("end", () =>
					resolve({
						status: res.statusCode ?? 0,
						body: Buffer.concat(chunks).toString(),
					}),
				);
			},
		);
		req.on("error", reject);
		req.end(init.body);
	});
}

/** A counter's total over its series in prom-client JSON. */
function counterTotal(metrics: MetricsJson, name: string): number {
	const metric = metrics.find(m => m.name === name);
	return (metric?.values ?? []).reduce((sum, v) => sum + v.value, 0);
}

const INFER_BODY = JSON.stringify({
	inputs: [{ name: "x", datatype: "FP32", shape: [1, 4], data: [1, 2, 3, 4] }],
	outputs: [{ name: "probabilities" }],
});

describe("an all-in-one node with MODELFLEET_SERVING_THREADS=2", () => {
	let node: TestNode;
	let metricsPort: number;
	const threadNodeID = () => node.node.servingThreads?.running()[0]?.nodeID ?? "";
	const servedBy = async (nodeID: string) =>
		counterTotal(
			await node.node.broker.call<MetricsJson, object>("agent.metrics", {}, { nodeID }),
			"modelfleet_inference_request_success_total",
		);
	const infer = (headers: Record<string, string> = { authorization: `Bearer ${KEY}` }) =>
		freshRequest(`${node.node.httpUrl}/v2/models/mlp/infer`, {
			method: "POST",
			headers: { "content-type": "application/json", ...headers },
			body: INFER_BODY,
		});

	beforeAll(async () => {
		metricsPort = await freePort();
		node = await startTestNode(KEY, {
			...FAST_LOOPS_CPU_ONLY,
			MODELFLEET_SERVING_THREADS: "2",
			LOG_LEVEL: process.env.DEBUG_LOG ?? "warn",
			METRICS_PORT: String(metricsPort),
		});
		await publishModel(node.api, KEY, "mlp", writeMlpModel());
		await deployAndWait(node.api, KEY, "mlp");
	}, 120_000);

	afterAll(() => node?.stop());

	it("runs a serving thread as a node of its own, sharing the node's port", async () => {
		const nodes = (await node.request("/nodes")).body as Array<{
			nodeID: string;
			role: string;
			services: string[];
			httpUrl: string | null;
		}>;
		const serving = nodes.find(n => n.role === "serving");
		expect(serving).toMatchObject({
			nodeID: `${node.node.broker.nodeID}-serving-1`,
			services: ["agent", "api", "predictor"],
			httpUrl: node.node.httpUrl,
		});
	});

	it("serves predictions on both threads, each the same answer", async () => {
		const answers = new Set<string>();
		const bothServed = async () =>
			(await servedBy(threadNodeID())) > 0 && (await servedBy(node.node.broker.nodeID)) > 0;
		// Each request on a new connection: the kernel spreads them over both listeners (all of
		// 60 on one of two would be chance of 2^-59).
		for (let i = 0; i < 60 && (answers.size === 0 || !(await bothServed())); i++) {
			const reply = await infer();
			expect(reply.status).toBe(200);
			const body = JSON.parse(reply.body) as { outputs: unknown; id?: string };
			answers.add(JSON.stringify(body.outputs));
		}
		expect(answers.size).toBe(1);
		expect(await servedBy(threadNodeID())).toBeGreaterThan(0);
		expect(await servedBy(node.node.broker.nodeID)).toBeGreaterThan(0);
	}, 60_000);

	it("asks every thread for a key: 401 without one, 404 for another tenant's model name", async () => {
		for (let i = 0; i < 12; i++) {
			expect((await infer({})).status).toBe(401);
			expect(
				(await infer({ authorization: "Bearer mf_wrong-key-000000000000" })).status,
			).toBe(401);
		}
		const tenant = await node.request("/tenants", { method: "POST", body: { name: "other" } });
		expect(tenant.status).toBe(201);
		const otherKey = (tenant.body as { ownerKey: { key: string } }).ownerKey.key;
		for (let i = 0; i < 12; i++) {
			expect((await infer({ authorization: `Bearer ${otherKey}` })).status).toBe(404);
		}
	}, 60_000);

	it("counts every request once on /metrics, whichever thread served it", async () => {
		const before = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then(r => r.text());
		const sum = async () =>
			(await servedBy(node.node.broker.nodeID)) + (await servedBy(threadNodeID()));
		const bothBefore = await sum();
		for (let i = 0; i < 20; i++) expect((await infer()).status).toBe(200);
		const after = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then(r => r.text());
		const name = "modelfleet_inference_request_success_total";
		expect(sampleSum(after, name) - sampleSum(before, name)).toBe(20);
		expect(sampleSum(after, name)).toBe(await sum());
		expect((await sum()) - bothBefore).toBe(20);
		// The process's own figures appear once, from the main thread.
		expect(after.match(/^# TYPE process_cpu_seconds_total /gm)).toHaveLength(1);
	}, 60_000);

	it("starts a thread that dies again, and serves and answers scrapes meanwhile", async () => {
		const first = node.node.servingThreads!.running()[0];
		await first.worker.terminate();
		for (let i = 0; i < 10; i++) expect((await infer()).status).toBe(200);
		const scrapes: number[] = [];
		await waitFor(
			"the serving thread started again",
			async () => {
				// While the new thread starts, a scrape leaves it out instead of failing.
				scrapes.push((await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).status);
				const running = node.node.servingThreads!.running();
				return running.length === 1 && running[0].worker !== first.worker
					? true
					: undefined;
			},
			30_000,
			20,
		);
		expect(scrapes.length).toBeGreaterThan(0);
		expect(scrapes.every(status => status === 200)).toBe(true);
		// Back in the node: the main thread reaches it again.
		await waitFor("the new thread's agent", () => servedBy(threadNodeID()), 30_000);
		for (let i = 0; i < 10; i++) expect((await infer()).status).toBe(200);
	}, 90_000);
});

describe("an all-in-one node with serving threads, encrypted at rest, after a key rotation", () => {
	it("starts its threads afresh: nothing a thread kept under the old key stops it", async () => {
		const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mf-serving-rotated-"));
		// What a serving thread left from before `modelfleet rotate-key`: its copies under the old key.
		const threadDir = path.join(dataDir, "serving-threads", "1");
		fs.mkdirSync(threadDir, { recursive: true });
		recordKey(threadDir, MasterKey.generate());
		let node: TestNode | null = null;
		try {
			node = await startTestNode(KEY, {
				MODELFLEET_DATA_DIR: dataDir,
				MODELFLEET_SERVING_THREADS: "2",
				MODELFLEET_ENCRYPTION_KEY: MasterKey.generate().toBase64(),
			});
			expect(node.node.servingThreads?.running()).toHaveLength(1);
		} finally {
			await node?.stop();
			fs.rmSync(dataDir, { recursive: true, force: true });
		}
	}, 60_000);
});
