/**
 * The REST client without a fleet: error bodies mapped to ModelfleetApiError, SSE parsed across
 * chunk boundaries, uploads streamed with progress and an idempotency key (handed back when the
 * outcome is unknown), the training stream typed, the config file kept at 0600 with the
 * environment overriding it.
 */
import * as fs from "node:fs";
import type * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import {
	ModelfleetApiError,
	ModelfleetClient,
	SseParser,
	apiErrorFrom,
	configPath,
	readSse,
	resolveConfig,
	writeConfig,
	type TrainingEvent,
	type UploadProgress,
} from "../../../lib/client";
import { serve } from "../../support/loopback-server";

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
	const encoder = new TextEncoder();
	return new ReadableStream({
		start(controller) {
			for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
			controller.close();
		},
	});
}

describe("ModelfleetApiError mapping", () => {
	it("carries status, type, message and data of our error body", () => {
		const err = apiErrorFrom(
			404,
			JSON.stringify({
				name: "NotFoundError",
				type: "NOT_FOUND",
				message: "No model named x.",
				code: 404,
				data: { model: "x" },
			}),
		);
		expect(err).toBeInstanceOf(ModelfleetApiError);
		expect(err).toMatchObject({
			status: 404,
			type: "NOT_FOUND",
			message: "No model named x.",
			data: { model: "x" },
		});
	});

	it("reports a body that is not ours as UNEXPECTED_RESPONSE with an excerpt", () => {
		expect(apiErrorFrom(502, "<html>Bad Gateway</html>")).toMatchObject({
			status: 502,
			type: "UNEXPECTED_RESPONSE",
			message: "The server answered 502: <html>Bad Gateway</html>",
		});
		expect(apiErrorFrom(500, "").message).toMatch(/empty body/);
		expect(apiErrorFrom(418, JSON.stringify({ message: "teapot" })).type).toBe("HTTP_418");
	});

	it("throws it from a refused call, and NETWORK_ERROR when nothing answers", async () => {
		const server = await serve((req, res) => {
			res.writeHead(401, { "content-type": "application/json" });
			res.end(
				JSON.stringify({
					type: "UNAUTHENTICATED",
					message: `Unknown API key (${req.headers.authorization}).`,
					code: 401,
				}),
			);
		});
		try {
			const client = new ModelfleetClient({ url: `${server.url}/api/v1/`, apiKey: "k1" });
			await expect(client.listModels()).rejects.toMatchObject({
				status: 401,
				type: "UNAUTHENTICATED",
				message: "Unknown API key (Bearer k1).",
			});
		} finally {
			await server.close();
		}
		const dead = new ModelfleetClient({ url: server.url, apiKey: "k1" });
		await expect(dead.listModels()).rejects.toMatchObject({ status: 0, type: "NETWORK_ERROR" });
	});
});

describe("SSE parsing", () => {
	it("joins fields split across chunks, multi-line data, CRLF and comments", async () => {
		const messages = [];
		for await (const m of readSse(
			streamOf([
				": hello\n\nevent: sta",
				'te\ndata: {"a":1}\r',
				"\n\r\ndata: one\ndata: two\n",
				"\nid: 7\nevent: end\ndata: {}",
				"\n",
			]),
		))
			messages.push(m);
		expect(messages).toEqual([
			{ event: "state", data: '{"a":1}' },
			{ event: "message", data: "one\ntwo" },
			{ event: "end", data: "{}", id: "7" },
		]);
	});

	it("waits for the second half of a CRLF split between chunks", () => {
		const parser = new SseParser();
		expect(parser.push("data: x\r")).toEqual([]);
		expect(parser.push("\n\r\n")).toEqual([{ event: "message", data: "x" }]);
	});

	it("types a training job's stream and stops at end", async () => {
		const server = await serve((req, res) => {
			expect(req.url).toBe("/api/v1/training-jobs/j1/events");
			res.writeHead(200, { "content-type": "text/event-stream" });
			res.write('event: state\ndata: {"state":"running","nodeID":"n1"}\n\n');
			res.write(
				'event: progress\ndata: {"epoch":1,"epochs":2,"metrics":{"loss":0.5},"etaMs":100}\n\n',
			);
			res.write('event: end\ndata: {"state":"completed","result":{"version":"0.1.0"}}\n\n');
			// Left open: the client must stop at `end` by itself.
		});
		try {
			const client = new ModelfleetClient({ url: server.url, apiKey: "k" });
			const events: TrainingEvent[] = [];
			for await (const event of client.followTrainingJob("j1")) events.push(event);
			expect(events.map(e => e.type)).toEqual(["state", "progress", "end"]);
			expect(events[1]).toMatchObject({ epoch: 1, epochs: 2, metrics: { loss: 0.5 } });
			expect(events[2]).toMatchObject({ state: "completed", result: { version: "0.1.0" } });
		} finally {
			await server.close();
		}
	});
});

describe("uploads", () => {
	it("streams a file with its query, and reports progress up to the whole size", async () => {
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mf-client-"));
		const file = path.join(dir, "big.onnx");
		const bytes = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
		fs.writeFileSync(file, bytes);
		let received = 0;
		let url = "";
		const server = await serve((req, res) => {
			url = req.url ?? "";
			req.on("data", (chunk: Buffer) => (received += chunk.length));
			req.on("end", () => {
				res.writeHead(201, { "content-type": "application/json" });
				res.end(JSON.stringify({ version: "1.0.0", state: "Draft", format: "onnx" }));
			});
		});
		try {
			const progress: UploadProgress[] = [];
			const client = new ModelfleetClient({ url: server.url, apiKey: "k" });
			const version = await client.uploadVersion(
				"m",
				{ path: file },
				{ version: "1.0.0", onProgress: p => progress.push(p) },
			);
			expect(version.version).toBe("1.0.0");
			expect(url).toBe("/api/v1/models/m/versions/upload?version=1.0.0&fileName=big.onnx");
			expect(received).toBe(bytes.length);
			expect(progress.length).toBeGreaterThan(3);
			expect(progress.every(p => p.total === bytes.length)).toBe(true);
			const sent = progress.map(p => p.sent);
			expect(sent).toEqual([...sent].sort((a, b) => a - b));
			expect(sent.at(-1)).toBe(bytes.length);
		} finally {
			await server.close();
			fs.rmSync(dir, { recursive: true, force: true });
		}
	});

	it("sends an Idempotency-Key with each upload: the one given, else a new one per call", async () => {
		const seen: { key: string | undefined; url: string | undefined }[] = [];
		const server = await serve((req, res) => {
			seen.push({ key: req.headers["idempotency-key"] as string | undefined, url: req.url });
			req.resume();
			req.on("end", () => {
				res.writeHead(201, { "content-type": "application/json" });
				res.end(JSON.stringify({ version: "1.0.0", state: "Draft", format: "onnx" }));
			});
		});
		try {
			const client = new ModelfleetClient({ url: server.url, apiKey: "k" });
			const bytes = new Uint8Array([1, 2, 3]);
			await client.uploadVersion("m", { bytes }, { bump: "minor" });
			await client.uploadVersion("m", { bytes }, { bump: "minor" });
			await client.uploadVersion("m", { bytes }, { bump: "minor", idempotencyKey: "mine-1" });
			const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
			expect(seen[0].key).toMatch(uuid);
			expect(seen[1].key).toMatch(uuid);
			expect(seen[1].key).not.toBe(seen[0].key);
			expect(seen[2].key).toBe("mine-1");
			// A header only, not also the query.
			expect(seen[2].url).toBe(
				"/api/v1/models/m/versions/upload?bump=minor&fileName=model.bin",
			);
		} finally {
			await server.close();
		}
	});

	it("hands the key back when an upload's outcome is unknown, and only then", async () => {
		const answers: ((res: http.ServerResponse) => void)[] = [
			// The connection drops before an answer.
			res => res.socket?.destroy(),
			// The answer is cut off after its status: the version was made.
			res => {
				res.writeHead(201, { "content-type": "application/json", "content-length": "100" });
				res.write('{"version":');
				setTimeout(() => res.socket?.destroy(), 20);
			},
			res => {
				res.writeHead(504, { "content-type": "application/json" });
				res.end(JSON.stringify({ type: "REQUEST_TIMEOUT", message: "Too slow." }));
			},
			res => {
				res.writeHead(409, { "content-type": "application/json" });
				res.end(JSON.stringify({ type: "IDEMPOTENCY_CONFLICT", message: "Used." }));
			},
		];
		let call = 0;
		const server = await serve((req, res) => {
			const answer = answers[call++];
			req.resume();
			req.on("end", () => answer(res));
		});
		try {
			const client = new ModelfleetClient({ url: server.url, apiKey: "k" });
			const upload = () =>
				client
					.uploadVersion("m", { bytes: new Uint8Array([1]) }, { idempotencyKey: "k-1" })
					.then(
						() => undefined,
						(err: unknown) => err,
					);
			// Dropped before an answer (status 0), then cut off after a 201.
			for (const status of [0, 201]) {
				const lost = await upload();
				expect(lost).toBeInstanceOf(ModelfleetApiError);
				expect(lost).toMatchObject({
					status,
					type: "NETWORK_ERROR",
					idempotencyKey: "k-1",
				});
			}
			expect(await upload()).toMatchObject({ status: 504, idempotencyKey: "k-1" });
			const refused = (await upload()) as ModelfleetApiError;
			expect(refused).toMatchObject({ status: 409, type: "IDEMPOTENCY_CONFLICT" });
			expect(refused.idempotencyKey).toBeUndefined();
		} finally {
			await server.close();
		}
	});

	it("refuses a missing file before calling the server", async () => {
		const client = new ModelfleetClient({ url: "http://127.0.0.1:9", apiKey: "k" });
		await expect(
			client.pushDataset({ path: "/nonexistent/x.csv" }, { name: "d" }),
		).rejects.toMatchObject({
			type: "FILE_UNREADABLE",
		});
	});
});

describe("routes", () => {
	it("sends each typed method to its route with its body", async () => {
		const seen: string[] = [];
		const server = await serve((req, res) => {
			let body = "";
			req.on("data", (chunk: Buffer) => (body += chunk.toString()));
			req.on("end", () => {
				seen.push(`${req.method} ${req.url} ${body}`.trim());
				res.writeHead(200, { "content-type": "application/json" });
				res.end("{}");
			});
		});
		try {
			const client = new ModelfleetClient({ url: server.url, apiKey: "k" });
			await client.transition("m", "1.0.0", "Validated", "tests pass");
			await client.setAlias("m", "champion", "1.0.0");
			await client.createDeployment({ model: "m", version: "1.0.0", replicas: 2 });
			await client.scaleDeployment("m", 3);
			await client.promoteDeployment("m", "1.1.0");
			await client.rollbackDeployment("m");
			await client.predict("m", { instances: [[1, 2]] }, "champion");
			await client.listNodes({ role: "worker" });
			await client.usage({ granularity: "day", model: "m" });
			await client.submitTrainingJob({
				target: "m",
				dataset: "d@1",
				labelColumn: "y",
				epochs: 2,
			});
			expect(seen).toEqual([
				'POST /api/v1/models/m/versions/1.0.0/transition {"to":"Validated","reason":"tests pass"}',
				'PUT /api/v1/models/m/aliases/champion {"version":"1.0.0"}',
				'POST /api/v1/deployments {"model":"m","version":"1.0.0","replicas":2}',
				'POST /api/v1/deployments/m/scale {"replicas":3}',
				'POST /api/v1/deployments/m/promote {"version":"1.1.0"}',
				"POST /api/v1/deployments/m/rollback {}",
				'POST /api/v1/models/m/versions/champion/predict {"instances":[[1,2]]}',
				"GET /api/v1/nodes?role=worker",
				"GET /api/v1/usage?granularity=day&model=m",
				'POST /api/v1/training-jobs {"target":"m","dataset":"d@1","labelColumn":"y","epochs":2}',
			]);
		} finally {
			await server.close();
		}
	});
});

describe("the CLI config file", () => {
	it("lives under XDG_CONFIG_HOME or ~/.config, is 0600, and the environment overrides it", () => {
		expect(configPath({ XDG_CONFIG_HOME: "/x" })).toBe("/x/modelfleet/config.json");
		expect(configPath({ HOME: "/h" })).toBe("/h/.config/modelfleet/config.json");
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mf-config-"));
		try {
			const file = configPath({ XDG_CONFIG_HOME: dir });
			fs.mkdirSync(path.dirname(file), { recursive: true });
			fs.writeFileSync(file, "{}", { mode: 0o644 });
			writeConfig(file, { url: "http://a", apiKey: "k" });
			expect(fs.statSync(file).mode & 0o777).toBe(0o600);
			expect(resolveConfig(file, {})).toEqual({ url: "http://a", apiKey: "k" });
			expect(
				resolveConfig(file, { MODELFLEET_URL: "http://b", MODELFLEET_API_KEY: "k2" }),
			).toEqual({
				url: "http://b",
				apiKey: "k2",
			});
		} finally {
			fs.rmSync(dir, { recursive: true, force: true });
		}
	});
});
