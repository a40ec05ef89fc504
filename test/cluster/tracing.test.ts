/**
 * Tracing through a fleet of real processes over the real NATS server (issue 18): every node
 * exports its spans over OTLP/HTTP (JSON) to a receiver this test runs, and an infer request
 * sent with a W3C `traceparent` makes one trace — the gateway's span a child of the caller's,
 * the worker's prediction span a child of the gateway's — by the REST predict route and by the
 * direct OIP infer route. The nodes log JSON lines (LOG_FORMAT=json) with the request's ids.
 */
import { randomBytes, randomUUID } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { createPostgresDatabase } from "../support/databases";
import { describeWithServices } from "../support/external-services";
import { FAST_LOOPS, FleetProcesses } from "../support/fleet-processes";
import { deployAndWait, publishModel, waitForWorkers } from "../support/fleet-api";
import { freePort } from "../support/node-process";
import { waitFor } from "../support/wait";
import { InferenceClient } from "../../lib/grpc/grpc-client";
import { writeMlpModel } from "../unit/onnx/example-models";

const OWNER_KEY = `mf_tracing-${randomUUID()}`;

interface OtlpSpan {
	traceId: string;
	spanId: string;
	parentSpanId?: string;
	name: string;
}
interface ReceivedSpan extends OtlpSpan {
	service: string;
	instance: string;
}

interface OtlpAttribute {
	key: string;
	value: { stringValue?: string };
}

/** An OTLP/HTTP receiver: POST /v1/traces with JSON, every span kept with its service. */
async function startReceiver(): Promise<{
	url: string;
	spans: ReceivedSpan[];
	close(): Promise<void>;
}> {
	const spans: ReceivedSpan[] = [];
	const server = http.createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on("data", (c: Buffer) => chunks.push(c));
		req.on("end", () => {
			if (req.method !== "POST" || req.url !== "/v1/traces") {
				res.writeHead(404).end();
				return;
			}
			const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
				resourceSpans: Array<{
					resource: { attributes: OtlpAttribute[] };
					scopeSpans: Array<{ spans: OtlpSpan[] }>;
				}>;
			};
			for (const rs of body.resourceSpans) {
				const attr = (key: string) =>
					rs.resource.attributes.find(a => a.key === key)?.value.stringValue ?? "";
				for (const scope of rs.scopeSpans)
					for (const span of scope.spans)
						spans.push({
							...span,
							service: attr("service.name"),
							instance: attr("service.instance.id"),
						});
			}
			res.writeHead(200, { "content-type": "application/json" }).end("{}");
		});
	});
	await new Promise<void>(resolve => server.listen(0, "127.0.0.1", resolve));
	const { port } = server.address() as AddressInfo;
	return {
		url: `http://127.0.0.1:${port}`,
		spans,
		close: () => new Promise(resolve => server.close(() => resolve())),
	};
}

const INFER_BODY = JSON.stringify({
	inputs: [{ name: "x", datatype: "FP32", shape: [1, 4], data: [1, 2, 3, 4] }],
});

describeWithServices(["nats", "postgres"], "tracing across the fleet", () => {
	let receiver: Awaited<ReturnType<typeof startReceiver>>;
	let cluster: FleetProcesses;
	let database: { url: string; drop(): Promise<void> };
	let base: string;
	let grpcPort: number;

	beforeAll(async () => {
		receiver = await startReceiver();
		cluster = new FleetProcesses("tracing", {
			...FAST_LOOPS,
			MODELFLEET_OTLP_ENDPOINT: receiver.url,
			LOG_FORMAT: "json",
		});
		database = await createPostgresDatabase();
		base = await cluster.startBasicFleet({
			ownerKey: OWNER_KEY,
			databaseUrl: database.url,
			// Only the gateway serves gRPC; the other roles ignore the setting.
			env: { LOG_LEVEL: "info", MODELFLEET_GRPC_PORT: String((grpcPort = await freePort())) },
		});
		await waitForWorkers(`${base}/api/v1`, OWNER_KEY, ["worker"]).catch(cluster.failWithLogs);
		await publishModel(`${base}/api/v1`, OWNER_KEY, "mlp", writeMlpModel(), { task: "other" });
		await deployAndWait(`${base}/api/v1`, OWNER_KEY, "mlp").catch(cluster.failWithLogs);
	}, 120_000);

	afterAll(async () => {
		await cluster?.killAll();
		await database?.drop();
		await receiver?.close();
	});

	/** Sends an infer with a fresh traceparent; the caller's trace id and span id. */
	async function tracedInfer(path: string): Promise<{ traceId: string; parentId: string }> {
		const traceId = randomBytes(16).toString("hex");
		const parentId = randomBytes(8).toString("hex");
		const response = await fetch(`${base}${path}`, {
			method: "POST",
			headers: {
				authorization: `Bearer ${OWNER_KEY}`,
				"content-type": "application/json",
				traceparent: `00-${traceId}-${parentId}-01`,
				"x-request-id": `req-${traceId.slice(0, 8)}`,
			},
			body: INFER_BODY,
		});
		expect(response.status).toBe(200);
		expect(response.headers.get("x-request-id")).toBe(`req-${traceId.slice(0, 8)}`);
		await response.arrayBuffer();
		return { traceId, parentId };
	}

	/** Waits for the trace's spans from the gateway and from the worker; checks their links. */
	async function expectOneTrace(traceId: string, parentId: string): Promise<ReceivedSpan[]> {
		const spans = await waitFor(
			`spans of trace ${traceId} from gateway and worker`,
			async () => {
				const trace = receiver.spans.filter(s => s.traceId === traceId);
				return trace.some(s => s.instance === "gateway") &&
					trace.some(s => s.instance === "worker")
					? trace
					: undefined;
			},
			20_000,
			200,
		).catch((err: Error) => {
			throw new Error(
				`${err.message}; received ${JSON.stringify(receiver.spans.filter(s => /infer|predict/.test(s.name)))}`,
			);
		});
		const byId = new Map(spans.map(s => [s.spanId, s]));
		// One root: the gateway's first span, a child of the caller's span.
		const roots = spans.filter(s => !byId.has(s.parentSpanId ?? ""));
		expect(roots.map(s => [s.instance, s.service, s.parentSpanId])).toEqual([
			["gateway", "modelfleet-gateway", parentId],
		]);
		// The worker's spans hang, through their parents, under the gateway's span.
		for (const span of spans.filter(s => s.instance === "worker")) {
			let at: ReceivedSpan | undefined = span;
			while (at && at.parentSpanId !== parentId) at = byId.get(at.parentSpanId ?? "");
			expect(at?.instance).toBe("gateway");
			expect(span.service).toBe("modelfleet-worker");
		}
		const predictor = spans.find(
			s => s.instance === "worker" && /predictor\.infer/.test(s.name),
		);
		expect(predictor).toBeDefined();
		expect(byId.get(predictor?.parentSpanId ?? "")).toBeDefined();
		for (const s of spans) expect(s.spanId).toMatch(/^[0-9a-f]{16}$/);
		return spans;
	}

	it("makes one trace of a REST predict from the caller's traceparent to the worker", async () => {
		const { traceId, parentId } = await tracedInfer("/api/v1/models/mlp/predict");
		await expectOneTrace(traceId, parentId);
	}, 60_000);

	it("makes one trace of a direct OIP infer from the caller's traceparent to the worker", async () => {
		const { traceId, parentId } = await tracedInfer("/v2/models/mlp/infer");
		const spans = await expectOneTrace(traceId, parentId);
		const root = spans.find(s => s.parentSpanId === parentId);
		expect(root?.name).toBe("POST /v2/models/mlp/infer");
	}, 60_000);

	it("makes one trace of a gRPC ModelInfer from the traceparent in its metadata", async () => {
		const traceId = randomBytes(16).toString("hex");
		const parentId = randomBytes(8).toString("hex");
		const client = new InferenceClient(`127.0.0.1:${grpcPort}`, { key: OWNER_KEY });
		try {
			const metadata = client.metadata({ traceparent: `00-${traceId}-${parentId}-01` });
			await client.call(
				"ModelInfer",
				{
					model_name: "mlp",
					inputs: [
						{
							name: "x",
							datatype: "FP32",
							shape: [1, 4],
							contents: { fp32_contents: [1, 2, 3, 4] },
						},
					],
				},
				{ metadata },
			);
		} finally {
			client.close();
		}
		// No gateway span for gRPC yet: the worker's prediction span is a child of the caller's.
		const spans = await waitFor(
			`worker spans of trace ${traceId}`,
			() => {
				const trace = receiver.spans.filter(s => s.traceId === traceId);
				return trace.some(s => /predictor\.infer/.test(s.name)) ? trace : undefined;
			},
			20_000,
			200,
		);
		const predictor = spans.find(s => /predictor\.infer/.test(s.name));
		expect(predictor?.instance).toBe("worker");
		expect(predictor?.parentSpanId).toBe(parentId);
	}, 60_000);

	it("writes every log line of every node as JSON with the request fields", () => {
		for (const node of cluster.processes) {
			const lines = node.log.split("\n").filter(l => l.startsWith("{"));
			expect(lines.length).toBeGreaterThan(0);
			for (const line of lines) {
				const entry = JSON.parse(line) as Record<string, unknown>;
				expect(entry).toEqual(
					expect.objectContaining({ node: node.name, level: expect.any(String) }),
				);
				for (const key of ["requestId", "traceId", "tenant"])
					expect(entry).toHaveProperty(key);
			}
		}
	});
});
