/**
 * Batch prediction over real HTTP against an all-in-one node in its own process: CSV and
 * NDJSON rows in, one NDJSON line per row out (outputs, or an error naming the row), errors
 * before the answer starts for what is wrong with the whole request — and a 200 MB CSV,
 * generated as it is sent, streamed through while the node's resident memory grows by less
 * than 150 MB.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { writeOnnxModel } from "../../lib/onnx/onnx-writer";
import { NodeProcess, freePort } from "../support/node-process";
import { waitFor } from "../support/wait";

const KEY = "mf_batch-predict-owner";
const FEATURES = 64;
/** Rows of the repeated block of the big CSV (its rows cycle through them). */
const BLOCK_ROWS = 1000;
const BIG_CSV_BYTES = 200 * 1024 * 1024;
const RSS_GROWTH_LIMIT = 150 * 1024 * 1024;

/** x[n, 64] · W → y[n, 2], W's first column all ones (y0 = the row's sum), second e0 (y1 = x0). */
function sumModel(): Uint8Array {
	const weights = new Float32Array(FEATURES * 2);
	for (let f = 0; f < FEATURES; f++) weights[f * 2] = 1;
	weights[1] = 1;
	return writeOnnxModel({
		graph: {
			nodes: [{ opType: "MatMul", inputs: ["x", "W"], outputs: ["y"] }],
			initializers: [{ name: "W", dims: [FEATURES, 2], data: weights }],
			inputs: [{ name: "x", datatype: "FP32", shape: ["n", FEATURES] }],
			outputs: [{ name: "y", datatype: "FP32", shape: ["n", 2] }],
		},
	});
}

/** Cell c of block row r: a value with 3 decimals, exact enough in float32 sums to compare. */
const cell = (r: number, c: number): number => ((r * 7 + c * 13) % 1000) / 8;

function rssBytes(pid: number): number {
	const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
	const kb = /VmRSS:\s+(\d+) kB/.exec(status);
	return kb ? Number(kb[1]) * 1024 : 0;
}

interface Line {
	row?: number;
	outputs?: Record<string, unknown>;
	error?: string;
}

describe("batch predict", () => {
	let node: NodeProcess;
	let port: number;
	let base: string;

	async function call(
		route: string,
		init: { method?: string; body?: string | Uint8Array; type?: string } = {},
	): Promise<{ status: number; text: string; type: string | null }> {
		const response = await fetch(`${base}${route}`, {
			method: init.method ?? (init.body !== undefined ? "POST" : "GET"),
			headers: {
				authorization: `Bearer ${KEY}`,
				...(init.type ? { "content-type": init.type } : {}),
			},
			body: init.body,
		});
		return {
			status: response.status,
			text: await response.text(),
			type: response.headers.get("content-type"),
		};
	}

	async function batch(route: string, body: string, type: string): Promise<Line[]> {
		const answer = await call(route, { body, type });
		expect({ status: answer.status, type: answer.type }).toEqual({
			status: 200,
			type: "application/x-ndjson",
		});
		expect(answer.text.endsWith("\n")).toBe(true);
		return answer.text
			.trim()
			.split("\n")
			.map(line => JSON.parse(line) as Line);
	}

	beforeAll(async () => {
		port = await freePort();
		base = `http://127.0.0.1:${port}`;
		node = NodeProcess.start("all-in-one", "all-in-one", {
			HOST: "127.0.0.1",
			PORT: String(port),
			METRICS_PORT: "off",
			LOG_LEVEL: "warn",
			MODELFLEET_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), "mf-batch-")),
			MODELFLEET_BOOTSTRAP_KEY: KEY,
			MODELFLEET_POOL_THREADS: "1",
			MODELFLEET_GPUS: "none",
		});
		await waitFor(
			"the node to be ready",
			async () => ((await fetch(`${base}/health/ready`)).ok ? true : undefined),
			60_000,
			250,
		).catch(error => {
			throw new Error(`${(error as Error).message}\n${node.log}`);
		});
		expect(
			(
				await call("/api/v1/models", {
					body: JSON.stringify({ name: "sum", task: "regression", framework: "onnx" }),
					type: "application/json",
				})
			).status,
		).toBe(201);
		expect(
			(
				await call("/api/v1/models/sum/versions/upload?version=1.0.0", {
					body: sumModel(),
					type: "application/octet-stream",
				})
			).status,
		).toBe(201);
		expect(
			(
				await call("/api/v1/models", {
					body: JSON.stringify({
						name: "iris",
						task: "classification",
						framework: "xgboost",
					}),
					type: "application/json",
				})
			).status,
		).toBe(201);
		const iris = fs.readFileSync(
			path.join(__dirname, "..", "fixtures", "xgboost", "iris-multi-softprob.json"),
		);
		expect(
			(
				await call("/api/v1/models/iris/versions/upload?version=1.0.0", {
					body: iris,
					type: "application/octet-stream",
				})
			).status,
		).toBe(201);
	}, 90_000);

	afterAll(async () => {
		node?.kill("SIGTERM");
		await node?.exited;
	});

	const header = Array.from({ length: FEATURES }, (_, c) => `f${c}`).join(",");
	const csvRow = (r: number): string =>
		Array.from({ length: FEATURES }, (_, c) => String(cell(r, c))).join(",");
	const rowSum = (r: number): number =>
		Array.from({ length: FEATURES }, (_, c) => cell(r, c)).reduce((a, b) => a + b, 0);

	it("answers each CSV row with its outputs, in order, across chunks", async () => {
		const rows = Array.from({ length: 25 }, (_, r) => csvRow(r));
		const lines = await batch(
			"/api/v1/models/sum/versions/1.0.0/batch-predict?chunkRows=4",
			`${header}\r\n${rows.join("\r\n")}\r\n`,
			"text/csv",
		);
		expect(lines.map(l => l.row)).toEqual(Array.from({ length: 25 }, (_, r) => r));
		for (const [r, line] of lines.entries()) {
			const [sum, first] = line.outputs!.y as number[];
			expect(sum).toBeCloseTo(rowSum(r), 2);
			expect(first).toBe(cell(r, 0));
		}
	});

	it("gives a bad row an error line naming it, and the other rows their outputs", async () => {
		const rows = [csvRow(0), csvRow(1).replace(/^[^,]+/, "abc"), csvRow(2), "1,2,3"];
		const lines = await batch(
			"/api/v1/models/sum/batch-predict",
			`${header}\n${rows.join("\n")}`,
			"text/csv; charset=utf-8",
		);
		expect(lines).toHaveLength(4);
		expect(lines[0].outputs).toBeDefined();
		expect(lines[1]).toEqual({ row: 1, error: expect.stringMatching(/row 1 .*"abc"/) });
		expect(lines[2].outputs!.y).toEqual([expect.closeTo(rowSum(2), 2), cell(2, 0)]);
		expect(lines[3]).toEqual({ row: 3, error: expect.stringContaining("3 values") });
	});

	it("maps CSV columns to the schema's features by name, in any order", async () => {
		const csv = [
			"petal_width,petal_length,sepal_width,sepal_length",
			"0.2,1.4,3.5,5.1",
			"2.5,6.0,3.3,6.3",
			'"1.0",4.1,2.7,5.8',
		].join("\n");
		const lines = await batch("/api/v1/models/iris/batch-predict", csv, "text/csv");
		const probabilities = lines.map(l => l.outputs!.predict as number[]);
		const argmax = probabilities.map(p => p.indexOf(Math.max(...p)));
		expect(argmax).toEqual([0, 2, 1]);
	});

	it("takes NDJSON rows as objects by feature name or arrays, and names a line that is not JSON", async () => {
		const ndjson = [
			'{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}',
			"",
			"[6.3,3.3,6.0,2.5]",
			"{not json",
			'{"sepal_length":5.1,"colour":"red"}',
		].join("\n");
		const lines = await batch(
			"/api/v1/models/iris/batch-predict",
			ndjson,
			"application/x-ndjson",
		);
		expect(lines.map(l => l.row)).toEqual([0, 1, 2, 3]);
		expect((lines[0].outputs!.predict as number[]).length).toBe(3);
		expect((lines[1].outputs!.predict as number[]).length).toBe(3);
		expect(lines[2].error).toMatch(/Row 2 is not valid JSON/);
		expect(lines[3].error).toMatch(/row 3 .*colour/);
	});

	it("refuses, before answering, what is wrong with the whole request", async () => {
		const refused = async (route: string, body: string, type?: string) => {
			const answer = await call(route, { body, type });
			return {
				status: answer.status,
				type: (JSON.parse(answer.text) as { type: string }).type,
			};
		};
		expect(await refused("/api/v1/models/nope/batch-predict", "a\n1", "text/csv")).toEqual({
			status: 404,
			type: "NOT_FOUND",
		});
		expect(
			await refused("/api/v1/models/sum/versions/9.9.9/batch-predict", "a\n1", "text/csv"),
		).toEqual({ status: 404, type: "NOT_FOUND" });
		expect(await refused("/api/v1/models/sum/batch-predict", "f0,f1\n1,2", "text/csv")).toEqual(
			{ status: 400, type: "INVALID_INPUT" },
		);
		expect(
			await refused(
				"/api/v1/models/iris/batch-predict",
				"sepal_length,colour\n1,2",
				"text/csv",
			),
		).toEqual({ status: 400, type: "INVALID_INPUT" });
		expect(await refused("/api/v1/models/sum/batch-predict", "1,2", "text/plain")).toEqual({
			status: 400,
			type: "INVALID_INPUT",
		});
		expect(await refused("/api/v1/models/sum/batch-predict", "", "text/csv")).toEqual({
			status: 400,
			type: "INVALID_INPUT",
		});
	});

	it("ends with an error line when the CSV breaks off inside a quoted field", async () => {
		const lines = await batch(
			"/api/v1/models/sum/batch-predict?format=csv",
			`${header}\n${csvRow(0)}\n"1,2`,
			"application/octet-stream",
		);
		expect(lines[0].row).toBe(0);
		expect(lines[lines.length - 1]).toEqual({ error: expect.stringMatching(/quoted field/) });
	});

	it("streams a 200 MB CSV through with the node's memory growing by less than 150 MB", async () => {
		// Warm up: the model loaded, the code paths compiled, before the baseline is taken.
		await batch(
			"/api/v1/models/sum/batch-predict",
			`${header}\n${Array.from({ length: 2000 }, (_, r) => csvRow(r % BLOCK_ROWS)).join("\n")}\n`,
			"text/csv",
		);
		const block = Buffer.from(
			Array.from({ length: BLOCK_ROWS }, (_, r) => csvRow(r)).join("\n") + "\n",
		);
		const blocks = Math.ceil(BIG_CSV_BYTES / block.length);
		const expectedRows = blocks * BLOCK_ROWS;
		const sums = Array.from({ length: BLOCK_ROWS }, (_, r) => rowSum(r));

		const baseline = rssBytes(node.pid);
		let peak = baseline;
		const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(node.pid))), 50);

		const started = Date.now();
		const result = await new Promise<{ rows: number; errors: number; wrong: number }>(
			(resolve, reject) => {
				const request = http.request(
					`${base}/api/v1/models/sum/batch-predict`,
					{
						method: "POST",
						headers: {
							authorization: `Bearer ${KEY}`,
							"content-type": "text/csv",
						},
					},
					response => {
						if (response.statusCode !== 200) {
							reject(new Error(`status ${response.statusCode}`));
							return;
						}
						let pending = "";
						let rows = 0;
						let errors = 0;
						let wrong = 0;
						response.setEncoding("utf8");
						response.on("data", (text: string) => {
							pending += text;
							let start = 0;
							let newline: number;
							while ((newline = pending.indexOf("\n", start)) !== -1) {
								const line = JSON.parse(pending.slice(start, newline)) as Line;
								start = newline + 1;
								if (line.error !== undefined || line.row !== rows) errors++;
								else if (
									Math.abs(
										(line.outputs!.y as number[])[0] - sums[rows % BLOCK_ROWS],
									) > 0.05
								)
									wrong++;
								rows++;
							}
							pending = pending.slice(start);
						});
						response.on("end", () => resolve({ rows, errors, wrong }));
						response.on("error", reject);
					},
				);
				request.on("error", reject);
				// Sent as generated, only as fast as the node takes it.
				let sent = 0;
				const send = (): void => {
					if (sent === 0) request.write(`${header}\n`);
					while (sent < blocks) {
						sent++;
						if (!request.write(block)) {
							request.once("drain", send);
							return;
						}
					}
					request.end();
				};
				send();
			},
		);
		clearInterval(sampler);
		peak = Math.max(peak, rssBytes(node.pid));
		const growth = peak - baseline;
		console.log(
			`batch predict: ${blocks * block.length} bytes, ${result.rows} rows in ${Date.now() - started} ms; ` +
				`node RSS ${Math.round(baseline / 2 ** 20)} → peak ${Math.round(peak / 2 ** 20)} MiB (+${Math.round(growth / 2 ** 20)} MiB)`,
		);
		expect(result).toEqual({ rows: expectedRows, errors: 0, wrong: 0 });
		expect(growth).toBeLessThan(RSS_GROWTH_LIMIT);
	}, 180_000);
});
