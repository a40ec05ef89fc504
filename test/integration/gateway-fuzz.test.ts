/**
 * Throws thousands of malformed requests at a running all-in-one gateway over real HTTP — bad
 * JSON, wrong types, shape/data mismatches, huge and negative shapes, unknown datatypes,
 * truncated binary bodies, wrong header lengths, missing and bad keys, odd paths and methods,
 * bodies cut off mid-way on the socket — and checks that none answers 5xx, the process stays
 * up, and a good request still answers correctly afterwards.
 *
 * The cases come from a seeded PRNG; the seed is printed. Reproduce a run with
 * MODELFLEET_FUZZ_SEED=<seed> (and MODELFLEET_FUZZ_COUNT=<n> for more or fewer requests).
 */
import * as net from "node:net";
import { startNode, type StartedNode } from "../../nodes/start-node";
import { writeOnnxModel } from "../../lib/onnx/onnx-writer";
import { freePort } from "../support/node-process";
import { seededDataDir } from "../support/pglite-template";
import { MLP_EXAMPLE, writeMlpModel } from "../unit/onnx/example-models";

const KEY = "mf_fuzz-owner";
const SEED = Number(process.env.MODELFLEET_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const COUNT = Number(process.env.MODELFLEET_FUZZ_COUNT ?? 2400);
const CONCURRENCY = 8;

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
function prng(seed: number): () => number {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

interface FuzzRequest {
	kind: string;
	method: string;
	path: string;
	headers: Record<string, string>;
	body?: Buffer;
	/** Sent on a raw socket: the body is cut off and the socket closed. */
	cutOff?: boolean;
}

class Fuzzer {
	constructor(private readonly random: () => number) {}

	int(max: number): number {
		return Math.floor(this.random() * max);
	}
	pick<T>(items: readonly T[]): T {
		return items[this.int(items.length)];
	}
	chance(p: number): boolean {
		return this.random() < p;
	}

	/** Any JSON value, of any type, sometimes nested. */
	value(depth = 0): unknown {
		switch (this.int(depth > 2 ? 7 : 9)) {
			case 0:
				return null;
			case 1:
				return this.chance(0.5);
			case 2:
				return this.pick([0, -1, 1.5, 2 ** 53, 2 ** 64, -0, 65520, 1e-320, 3.5e38]);
			case 3:
				return this.int(1000) - 500;
			case 4:
				return this.pick([
					"",
					"x",
					"1",
					"NaN",
					"Infinity",
					"ü".repeat(20),
					"\u0000",
					"[1,2]",
				]);
			case 5:
				return "s".repeat(this.int(300));
			case 6:
				return this.int(1e9);
			case 7:
				return Array.from({ length: this.int(6) }, () => this.value(depth + 1));
			default:
				return Object.fromEntries(
					Array.from({ length: this.int(4) }, (_, i) => [
						this.pick([
							"name",
							"shape",
							"data",
							"datatype",
							"__proto__",
							"constructor",
							`k${i}`,
						]),
						this.value(depth + 1),
					]),
				);
		}
	}

	shape(): unknown {
		return this.pick<() => unknown>([
			() => [1, 4],
			() => [2, 4],
			() => [this.int(5), this.int(6)],
			() => [-1, 4],
			() => [1, -4],
			() => [1e9, 1e9],
			() => [2 ** 53, 4],
			() => [1.5, 4],
			() => Array.from({ length: 20 }, () => 2),
			() => [],
			() => [0, 4],
			() => "1,4",
			() => [null, 4],
			() => [1e308],
			() => this.value(),
		])();
	}

	datatype(): unknown {
		return this.pick([
			"FP32",
			"FP32",
			"FP64",
			"FP16",
			"INT64",
			"BYTES",
			"BOOL",
			"fp32",
			"FP8",
			"BF16",
			"",
			"UINT128",
			7,
			null,
		]);
	}

	data(count: number): unknown {
		return this.pick<() => unknown>([
			() => Array.from({ length: count }, () => this.random() * 10),
			() => Array.from({ length: Math.max(0, count + this.int(5) - 2) }, () => 1),
			() => [Array.from({ length: 4 }, () => 1), [1, 2, 3]],
			() => Array.from({ length: count }, () => this.value()),
			() => "1,2,3,4",
			() => ({ 0: 1 }),
			() => null,
			() => nestDeep(this.int(2000) + 10),
			() => Array.from({ length: count }, () => "nan"),
		])();
	}

	input(): Record<string, unknown> {
		const input: Record<string, unknown> = {
			name: this.pick(["x", "x", "x", "y", "", "logits", "x".repeat(300)]),
			shape: this.shape(),
			datatype: this.datatype(),
			data: this.data(4),
		};
		if (this.chance(0.15)) delete input[this.pick(["name", "shape", "datatype", "data"])];
		if (this.chance(0.1)) input.parameters = this.value();
		return input;
	}

	/** An inference request body that is wrong in some way (or, now and then, right). */
	requestObject(): unknown {
		const request: Record<string, unknown> = {
			inputs: Array.from({ length: this.pick([1, 1, 1, 0, 2, 70]) }, () => this.input()),
		};
		if (this.chance(0.3)) request.id = this.pick<unknown>(["r1", 5, null, "i".repeat(300), {}]);
		if (this.chance(0.3))
			request.outputs = this.pick<unknown>([
				[{ name: "logits" }],
				[{ name: "nope" }],
				"logits",
				[null],
				[{ name: "probabilities", parameters: { binary_data: this.value() } }],
			]);
		if (this.chance(0.2))
			request.parameters = this.pick<unknown>([
				{ binary_data_output: true },
				[],
				"x",
				{ binary_data_output: "yes" },
			]);
		if (this.chance(0.1)) request.inputs = this.value();
		if (this.chance(0.05)) request.instances = this.value();
		return this.chance(0.05) ? this.value() : request;
	}

	jsonBody(): Buffer {
		const text = JSON.stringify(this.requestObject()) ?? "null";
		switch (this.int(7)) {
			case 0:
				return Buffer.from(text.slice(0, this.int(text.length)));
			case 1:
				return Buffer.from(text.replace(/[:,]/, this.pick(["", ";", "::", "}"])));
			case 2:
				// Numbers JSON allows but no tensor can hold.
				return Buffer.from(
					text.replace(/\d+(\.\d+)?/, this.pick(["1e309", "-1e309", "1e-400"])),
				);
			case 3:
				return Buffer.from(Array.from({ length: this.int(64) }, () => this.int(256)));
			default:
				return Buffer.from(text);
		}
	}

	/** A binary-extension body whose sizes, lengths or bytes are off. */
	binaryBody(): { body: Buffer; headerLength: string } {
		const datatype = this.pick(["FP32", "FP32", "BYTES", "FP16", "INT64", "BOOL", "FP8"]);
		const declared = this.pick([32, 16, 0, -8, 31, 1e12, 2 ** 53, 7]);
		const header: Record<string, unknown> = {
			inputs: [
				{
					name: "x",
					shape: this.pick<unknown>([
						[2, 4],
						[1, 4],
						[4, 2],
						[2, 4, 1],
					]),
					datatype,
					parameters: { binary_data_size: this.chance(0.1) ? this.value() : declared },
					...(this.chance(0.1) ? { data: [1, 2, 3, 4] } : {}),
				},
			],
			...(this.chance(0.3) ? { parameters: { binary_data_output: true } } : {}),
		};
		const json = Buffer.from(JSON.stringify(header));
		let bytes = Buffer.alloc(this.pick([0, 8, 20, 32, 33, 64]), this.int(256));
		if (datatype === "BYTES" && this.chance(0.5)) {
			bytes = Buffer.alloc(8);
			bytes.writeUInt32LE(this.pick([0xffffffff, 4, 100, 3]));
		}
		const headerLength = this.pick([
			String(json.length),
			String(json.length),
			String(json.length - this.int(json.length)),
			String(json.length + bytes.length + 1 + this.int(100)),
			"-1",
			"abc",
			"1e3",
			"99999999999999999999",
			"",
			`${json.length}, ${json.length}`,
		]);
		return { body: Buffer.concat([json, bytes]), headerLength };
	}

	auth(): Record<string, string> {
		if (this.chance(0.8)) return { authorization: `Bearer ${KEY}` };
		return this.pick<Record<string, string>>([
			{ authorization: `Bearer ${KEY}` },
			{ authorization: `Bearer ${KEY}` },
			{ authorization: `Bearer ${KEY}` },
			{},
			{ authorization: "Bearer mf_nope" },
			{ authorization: "Bearer" },
			{ authorization: `Basic ${Buffer.from("a:b").toString("base64")}` },
			{ authorization: `Bearer ${"k".repeat(5000)}` },
			{ "x-api-key": "" },
			{ "x-api-key": "mf_\u00ff" },
		]);
	}

	modelPath(): string {
		return this.pick([
			"/v2/models/mlp/infer",
			"/v2/models/mlp/infer",
			"/v2/models/mlp/versions/1/infer",
			"/v2/models/words/infer",
			"/v2/models/nothing/infer",
			"/v2/models/mlp/versions/99999999999999999999/infer",
			"/v2/models/mlp/versions/%E0%A4%A/infer",
			"/v2/models/%2e%2e%2f%2e%2e/infer",
			`/v2/models/${"m".repeat(400)}/infer`,
			"/v2/models/mlp@nope/infer",
			"/api/v1/models/mlp/predict",
		]);
	}

	next(): FuzzRequest {
		const auth = this.auth();
		switch (this.int(10)) {
			case 0:
			case 1:
			case 2: {
				return {
					kind: "json",
					method: "POST",
					path: this.modelPath(),
					headers: {
						...auth,
						"content-type": this.pick([
							"application/json",
							"application/json",
							"text/plain",
							"application/x-www-form-urlencoded",
						]),
					},
					body: this.jsonBody(),
				};
			}
			case 3:
			case 4:
			case 5: {
				const { body, headerLength } = this.binaryBody();
				return {
					kind: "binary",
					method: "POST",
					path: this.modelPath(),
					headers: {
						...auth,
						"content-type": "application/octet-stream",
						"inference-header-content-length": headerLength,
					},
					body,
				};
			}
			case 6: {
				const { body, headerLength } = this.binaryBody();
				return {
					kind: "cut-off",
					method: "POST",
					path: this.modelPath(),
					headers: { ...auth, "inference-header-content-length": headerLength },
					body,
					cutOff: true,
				};
			}
			case 7:
				return {
					kind: "metadata",
					method: this.pick(["GET", "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"]),
					path: this.pick([
						"/v2/models/mlp",
						"/v2/models/mlp/ready",
						"/v2/models/mlp/versions/x/ready",
						"/v2/models/",
						"/v2/models//infer",
						"/v2",
						"/v2/health/ready",
						"/v2/repository/index",
						"/api/openapi.json",
						"/api/v1/models?limit=-5",
						"/api/v1/models?limit=abc&cursor=%ff",
					]),
					headers: auth,
				};
			default:
				return {
					kind: "rest",
					method: "POST",
					path: this.pick([
						"/api/v1/models",
						"/api/v1/models/mlp/predict",
						"/api/v1/models/mlp/versions",
					]),
					headers: { ...auth, "content-type": "application/json" },
					body: this.jsonBody(),
				};
		}
	}
}

function nestDeep(depth: number): unknown {
	let value: unknown = [1];
	for (let i = 0; i < depth; i++) value = [value];
	return value;
}

/** Sends the start of a request with a longer Content-Length than it gives, then closes. */
function sendCutOff(port: number, request: FuzzRequest): Promise<number | null> {
	return new Promise(resolve => {
		const socket = net.connect(port, "127.0.0.1");
		const body = request.body ?? Buffer.alloc(0);
		const sent = body.subarray(0, Math.floor(body.length / 2));
		let answer = "";
		socket.setTimeout(2000, () => socket.destroy());
		socket.on("connect", () => {
			const head = [
				`${request.method} ${request.path} HTTP/1.1`,
				"Host: 127.0.0.1",
				`Content-Length: ${body.length + 10}`,
				...Object.entries(request.headers).map(([k, v]) => `${k}: ${v}`),
				"",
				"",
			].join("\r\n");
			socket.write(head);
			socket.end(sent);
		});
		socket.on("data", chunk => (answer += chunk.toString("latin1")));
		socket.on("error", () => undefined);
		socket.on("close", () => {
			const status = /^HTTP\/1\.1 (\d{3})/.exec(answer);
			resolve(status ? Number(status[1]) : null);
		});
	});
}

describe("gateway fuzz", () => {
	let node: StartedNode;
	let port: number;

	beforeAll(async () => {
		port = await freePort();
		node = await startNode(
			"all-in-one",
			{
				HOST: "127.0.0.1",
				PORT: String(port),
				METRICS_PORT: "off",
				MODELFLEET_GRPC_PORT: "off",
				LOG_LEVEL: "fatal",
				MODELFLEET_DATA_DIR: await seededDataDir("mf-fuzz-"),
				MODELFLEET_BOOTSTRAP_KEY: KEY,
				MODELFLEET_POOL_THREADS: "1",
				MODELFLEET_MAX_BODY_BYTES: "4MiB",
			},
			() => undefined,
		);
		const auth = { authorization: `Bearer ${KEY}` };
		const models: [string, Uint8Array][] = [
			["mlp", writeMlpModel()],
			[
				"words",
				writeOnnxModel({
					graph: {
						nodes: [{ opType: "Identity", inputs: ["x"], outputs: ["y"] }],
						inputs: [{ name: "x", datatype: "BYTES", shape: ["n", 2] }],
						outputs: [{ name: "y", datatype: "BYTES", shape: ["n", 2] }],
					},
				}),
			],
		];
		for (const [name, bytes] of models) {
			await fetch(`${node.httpUrl}/api/v1/models`, {
				method: "POST",
				headers: { ...auth, "content-type": "application/json" },
				body: JSON.stringify({ name, task: "other", framework: "onnx" }),
			});
			const uploaded = await fetch(
				`${node.httpUrl}/api/v1/models/${name}/versions/upload?version=1.0.0`,
				{ method: "POST", headers: auth, body: bytes },
			);
			expect(uploaded.status).toBe(201);
		}
	}, 60_000);

	afterAll(() => node?.stop());

	it(`answers ${COUNT} malformed requests without a 5xx or a crash, then a good one correctly`, async () => {
		console.log(
			`gateway fuzz: seed ${SEED} (reproduce with MODELFLEET_FUZZ_SEED=${SEED}), ${COUNT} requests`,
		);
		const fuzzer = new Fuzzer(prng(SEED));
		const requests = Array.from({ length: COUNT }, (_, i) => ({ i, ...fuzzer.next() }));
		const failures: string[] = [];
		const statuses = new Map<number | null, number>();
		let next = 0;
		const worker = async (): Promise<void> => {
			while (next < requests.length) {
				const request = requests[next++];
				let status: number | null;
				if (request.cutOff) {
					status = await sendCutOff(port, request);
				} else {
					try {
						const response = await fetch(`${node.httpUrl}${request.path}`, {
							method: request.method,
							headers: request.headers,
							body:
								request.method === "GET" || request.method === "HEAD"
									? undefined
									: request.body,
						});
						status = response.status;
						await response.arrayBuffer();
					} catch (err) {
						status = null;
						failures.push(
							`#${request.i} ${request.kind} ${request.method} ${request.path}: ${(err as Error).message}`,
						);
					}
				}
				statuses.set(status, (statuses.get(status) ?? 0) + 1);
				if (status !== null && status >= 500)
					failures.push(
						`#${request.i} ${request.kind} ${request.method} ${request.path} → ${status}: ${request.body?.subarray(0, 200).toString("latin1")}`,
					);
			}
		};
		await Promise.all(Array.from({ length: CONCURRENCY }, worker));

		const summary = [...statuses.entries()].sort((a, b) => Number(a[0]) - Number(b[0]));
		console.log(`gateway fuzz: statuses ${JSON.stringify(summary)}`);
		expect({ seed: SEED, failures: failures.slice(0, 10) }).toEqual({
			seed: SEED,
			failures: [],
		});
		// The mix reached the checks it was meant for, not just the door.
		expect(statuses.get(400)).toBeGreaterThan(COUNT / 4);
		expect(statuses.get(401)).toBeGreaterThan(0);

		expect(node.broker.started).toBe(true);
		const good = await fetch(`${node.httpUrl}/v2/models/mlp/infer`, {
			method: "POST",
			headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
			body: JSON.stringify({
				id: "after",
				inputs: [{ name: "x", shape: [2, 4], datatype: "FP32", data: MLP_EXAMPLE.x }],
				outputs: [{ name: "logits" }],
			}),
		});
		expect(good.status).toBe(200);
		expect(await good.json()).toMatchObject({
			id: "after",
			outputs: [{ name: "logits", data: MLP_EXAMPLE.logits }],
		});
	}, 60_000);
});
