/**
 * Every role's /metrics, as Prometheus will scrape it: an all-in-one node and a fleet of real
 * processes (gateway, control, CPU worker) over the real NATS server, each with its health port
 * (MODELFLEET_HEALTH_PORT), after some traffic. Each scrape passes `promtool check metrics`;
 * the worker's counters equal the requests sent, its shadow copies carry traffic="shadow", and
 * the control node shows the deployment's desired and ready replicas.
 */
import { randomUUID } from "node:crypto";
import { createPostgresDatabase } from "../support/databases";
import { describeUnlessMissing, describeWithServices } from "../support/external-services";
import { deployAndWait, publishModel, waitForWorkers } from "../support/fleet-api";
import { FAST_LOOPS, FleetProcesses } from "../support/fleet-processes";
import { freePort } from "../support/node-process";
import { promtoolCheck, promtoolPath, sampleSum } from "../support/promtool";
import { apiClient, startTestNode, type TestNode } from "../support/test-node";
import { waitFor } from "../support/wait";
import { writeMlpModel } from "../unit/onnx/example-models";

const OWNER_KEY = `mf_prom-${randomUUID()}`;
const promtool = promtoolPath();
const INFER_BODY = JSON.stringify({
	inputs: [{ name: "x", datatype: "FP32", shape: [1, 4], data: [1, 2, 3, 4] }],
});

async function scrape(port: number): Promise<string> {
	const response = await fetch(`http://127.0.0.1:${port}/metrics`);
	expect(response.status).toBe(200);
	expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
	return response.text();
}

/** promtool's verdict on a scrape: passes, or the test fails with what it said. */
function expectPromtoolPasses(role: string, text: string): void {
	const { code, output } = promtoolCheck(promtool as string, text);
	expect({ role, code, output }).toEqual({ role, code: 0, output: "" });
}

async function infer(base: string, key: string): Promise<number> {
	const response = await fetch(`${base}/v2/models/mlp/infer`, {
		method: "POST",
		headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
		body: INFER_BODY,
	});
	await response.arrayBuffer();
	return response.status;
}

const body = () => {
	describe("an all-in-one node serving on two threads", () => {
		let testNode: TestNode;
		let metricsPort: number;

		beforeAll(async () => {
			metricsPort = await freePort();
			testNode = await startTestNode(OWNER_KEY, {
				METRICS_PORT: String(metricsPort),
				MODELFLEET_SERVING_THREADS: "2",
			});
			await publishModel(testNode.api, OWNER_KEY, "mlp", writeMlpModel());
			for (let i = 0; i < 5; i++)
				expect(await infer(testNode.node.httpUrl!, OWNER_KEY)).toBe(200);
		}, 60_000);

		afterAll(() => testNode?.stop());

		it("merges its threads' metrics into one scrape that promtool passes", async () => {
			const text = await scrape(metricsPort);
			expectPromtoolPasses("all-in-one, two serving threads", text);
			const nodeIDs = [...text.matchAll(/^modelfleet_node_info\{node_id="([^"]+)"/gm)].map(
				m => m[1],
			);
			expect(nodeIDs.sort()).toEqual(
				[testNode.node.broker.nodeID, `${testNode.node.broker.nodeID}-serving-1`].sort(),
			);
		});
	});

	describe("an all-in-one node", () => {
		let testNode: TestNode;
		let healthPort: number;
		let metricsPort: number;

		beforeAll(async () => {
			[healthPort, metricsPort] = [await freePort(), await freePort()];
			testNode = await startTestNode(OWNER_KEY, {
				MODELFLEET_HEALTH_PORT: String(healthPort),
				METRICS_PORT: String(metricsPort),
			});
			await publishModel(testNode.api, OWNER_KEY, "mlp", writeMlpModel());
			for (let i = 0; i < 5; i++)
				expect(await infer(testNode.node.httpUrl!, OWNER_KEY)).toBe(200);
		}, 60_000);

		afterAll(() => testNode?.stop());

		it("serves the same metrics on its health and metrics ports, and promtool passes them", async () => {
			for (const port of [healthPort, metricsPort]) {
				const text = await scrape(port);
				expectPromtoolPasses("all-in-one", text);
				const live = { model: "mlp", version: "1.0.0", traffic: "live" };
				expect(sampleSum(text, "modelfleet_inference_request_success_total", live)).toBe(5);
				expect(sampleSum(text, "modelfleet_inference_count_total", live)).toBe(5);
				expect(text).toMatch(/^modelfleet_node_info\{[^}]*role="all-in-one"[^}]*\} 1$/m);
			}
		});
	});

	describe("a fleet", () => {
		const cluster = new FleetProcesses("prom", FAST_LOOPS);
		let database: { url: string; drop(): Promise<void> };
		let base: string;
		const ports: Record<string, number> = {};

		beforeAll(async () => {
			database = await createPostgresDatabase();
			for (const name of ["gateway", "control", "worker"]) ports[name] = await freePort();
			base = await cluster.startBasicFleet({
				ownerKey: OWNER_KEY,
				databaseUrl: database.url,
				nodeEnv: Object.fromEntries(
					Object.entries(ports).map(([name, port]) => [
						name,
						{ MODELFLEET_HEALTH_PORT: String(port) },
					]),
				),
			});
			const api = `${base}/api/v1`;
			await waitForWorkers(api, OWNER_KEY, ["worker"]).catch(cluster.failWithLogs);
			await publishModel(api, OWNER_KEY, "mlp", writeMlpModel());
			const second = await fetch(
				`${api}/models/mlp/versions/upload?version=2.0.0&fileName=m.onnx&state=Validated`,
				{
					method: "POST",
					headers: { authorization: `Bearer ${OWNER_KEY}` },
					body: writeMlpModel(),
				},
			);
			expect(second.status).toBe(201);
			await deployAndWait(api, OWNER_KEY, "mlp", { version: "2.0.0" }).catch(
				cluster.failWithLogs,
			);
			const patched = await apiClient(api, OWNER_KEY)("/deployments/mlp", {
				method: "PATCH",
				body: { shadow: "1.0.0" },
			});
			expect(patched.status).toBe(200);
			// The routing table reaches the gateway in a pass: probe until copies arrive.
			await waitFor(
				"requests mirrored to the shadow version",
				async () => {
					expect(await infer(base, OWNER_KEY)).toBe(200);
					const text = await scrape(ports.worker);
					const shadow = { version: "1.0.0", traffic: "shadow" };
					return sampleSum(text, "modelfleet_inference_request_success_total", shadow) > 0
						? true
						: undefined;
				},
				30_000,
				250,
			).catch(cluster.failWithLogs);
		}, 180_000);

		afterAll(async () => {
			await cluster.killAll();
			await database?.drop();
		});

		it('counts each request once on the worker, its shadow copy under traffic="shadow"', async () => {
			const live = { model: "mlp", version: "2.0.0", traffic: "live" };
			const shadow = { model: "mlp", version: "1.0.0", traffic: "shadow" };
			const success = "modelfleet_inference_request_success_total";
			const before = await scrape(ports.worker);
			const sent = 20;
			for (let i = 0; i < sent; i++) expect(await infer(base, OWNER_KEY)).toBe(200);
			// Copies are fire-and-forget: they may still run when the answers are back.
			const after = await waitFor(
				"every shadow copy counted",
				async () => {
					const text = await scrape(ports.worker);
					return sampleSum(text, success, shadow) - sampleSum(before, success, shadow) >=
						sent
						? text
						: undefined;
				},
				10_000,
				100,
			);
			const delta = (name: string, labels: Record<string, string>) =>
				sampleSum(after, name, labels) - sampleSum(before, name, labels);
			expect(delta(success, live)).toBe(sent);
			expect(delta(success, shadow)).toBe(sent);
			expect(delta("modelfleet_inference_count_total", live)).toBe(sent);
			expect(delta("modelfleet_inference_request_duration_seconds_count", live)).toBe(sent);
			expect(delta(success, { model: "mlp", traffic: "canary" })).toBe(0);
			// Split per version, not per traffic: the live and shadow runs are each counted.
			expect(
				delta("modelfleet_inference_queue_duration_seconds_count", { version: "2.0.0" }),
			).toBe(sent);
		});

		it("carries the gateway's calls to the worker over a direct link, not the NATS server", async () => {
			const sentPackets = (text: string, direction: string) =>
				sampleSum(text, "modelfleet_direct_link_packets_total", { direction });
			const [gatewayBefore, workerBefore] = await Promise.all([
				scrape(ports.gateway),
				scrape(ports.worker),
			]);
			const sent = 10;
			for (let i = 0; i < sent; i++) expect(await infer(base, OWNER_KEY)).toBe(200);
			const [gatewayAfter, workerAfter] = await Promise.all([
				scrape(ports.gateway),
				scrape(ports.worker),
			]);
			expect(gatewayAfter).toMatch(/^modelfleet_direct_links_open [1-9]/m);
			// Each request once, and its shadow copy: at least one packet a request each way.
			expect(
				sentPackets(gatewayAfter, "sent") - sentPackets(gatewayBefore, "sent"),
			).toBeGreaterThanOrEqual(sent);
			expect(
				sentPackets(workerAfter, "received") - sentPackets(workerBefore, "received"),
			).toBeGreaterThanOrEqual(sent);
			expect(
				sentPackets(workerAfter, "sent") - sentPackets(workerBefore, "sent"),
			).toBeGreaterThanOrEqual(sent);
			expect(sampleSum(gatewayAfter, "modelfleet_direct_link_refused_total")).toBe(0);
		});

		it("shows the deployment's desired and ready replicas on the control node", async () => {
			const text = await scrape(ports.control);
			expect(
				sampleSum(text, "modelfleet_deployment_desired_replicas", { model: "mlp" }),
			).toBe(1);
			expect(sampleSum(text, "modelfleet_deployment_ready_replicas", { model: "mlp" })).toBe(
				1,
			);
			expect(text).toMatch(/^modelfleet_training_queue_depth\{state="queued"\} 0$/m);
		});

		it("passes promtool check metrics on the gateway, control and worker", async () => {
			for (const role of ["gateway", "control", "worker"]) {
				const text = await scrape(ports[role]);
				expect(text).toContain(`role="${role}"`);
				expectPromtoolPasses(role, text);
			}
		});
	});
};

if (promtool === null)
	describeUnlessMissing(
		"Prometheus metrics of every role",
		"promtool not installed (apt-get install prometheus)",
		body,
	);
else describeWithServices(["nats", "postgres"], "Prometheus metrics of every role", body);
