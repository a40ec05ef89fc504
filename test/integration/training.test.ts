/**
 * Training through the gateway of an all-in-one node: upload iris as a dataset (bad CSVs are
 * refused with the row and column named, and leave nothing), queue a job, follow it over
 * Server-Sent Events, get a registered version with its metrics (Validated by the acceptance
 * threshold), deploy it, and predict over the Open Inference Protocol — the ONNX export served
 * equals the TF.js model kept beside it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { StartedNode } from "../../nodes/start-node";
import type { JobView } from "../../lib/scheduler/job-store";
import type { VersionView } from "../../lib/registry/version-store";
import {
	FAST_LOOPS_CPU_ONLY,
	startTestNode,
	type TestNode,
	type TestReply,
	type TestRequestInit,
} from "../support/test-node";
import { waitFor } from "../support/wait";

const OWNER_KEY = "mf_training-test-owner-key";
const IRIS = path.join(__dirname, "..", "fixtures", "datasets", "iris.csv");

describe("training through the gateway", () => {
	let testNode: TestNode;
	let node: StartedNode;
	let base: string;

	const request = (url: string, init?: TestRequestInit) => testNode.request(url, init);

	async function upload(
		query: string,
		body: string | Buffer,
	): Promise<Pick<TestReply, "status" | "body">> {
		const response = await fetch(`${base}/datasets?${query}`, {
			method: "POST",
			headers: { authorization: `Bearer ${OWNER_KEY}`, "content-type": "text/csv" },
			body,
		});
		return { status: response.status, body: await response.json() };
	}

	beforeAll(async () => {
		testNode = await startTestNode(OWNER_KEY, FAST_LOOPS_CPU_ONLY);
		({ node, api: base } = testNode);
		await request("/models", {
			method: "POST",
			body: { name: "iris", task: "classification", framework: "tfjs" },
		});
	}, 60_000);

	afterAll(() => testNode.stop());

	it("refuses bad CSVs with 400 naming the row and column, and stores nothing", async () => {
		const cases: Array<[string, string, RegExp]> = [
			["ragged", "a,b,label\n1,2,x\n3,x\n", /row 3|line 3/i],
			["non-numeric", "a,b,label\n1,2,x\n3,4,y\n5,oops,x\n" + "6,7,y\n".repeat(20), /b/],
			["label-missing", "a,b,label\n1,2,x\n3,4,\n", /label/],
			["empty", "", /empty/],
		];
		for (const [name, csv, pattern] of cases) {
			const reply = await upload(`name=${name}&labelColumn=label`, csv);
			expect({ name, status: reply.status }).toEqual({ name, status: 400 });
			expect((reply.body as { message: string }).message).toMatch(pattern);
		}
		const absent = await upload("name=nolabel&labelColumn=species", fs.readFileSync(IRIS));
		expect(absent.status).toBe(400);
		expect((absent.body as { message: string }).message).toMatch(/species/);
		const list = await request("/datasets");
		expect((list.body as { items: unknown[] }).items).toEqual([]);
	});

	it("trains iris to test accuracy ≥ 0.93, registers a Validated version, and serves it over OIP", async () => {
		const dataset = await upload("name=iris&labelColumn=label", fs.readFileSync(IRIS));
		expect(dataset.status).toBe(201);
		expect(dataset.body).toMatchObject({ name: "iris", version: 1, rows: 150, ref: "iris@1" });

		const badSpec = await request("/training-jobs", {
			method: "POST",
			body: { target: "iris", dataset: "iris", labelColumn: "label", epochs: -1 },
		});
		expect(badSpec.status).toBe(400);
		expect((badSpec.body as { message: string }).message).toMatch(/epochs/);

		const queued = await request("/training-jobs", {
			method: "POST",
			body: {
				target: "iris",
				dataset: "iris@1",
				labelColumn: "label",
				seed: 3,
				checkpointEvery: 10,
				acceptance: { accuracy: { min: 0.9 } },
			},
		});
		expect(queued.status).toBe(201);
		const job = queued.body as JobView;
		expect(job.state).toBe("queued");

		// Follow it live over Server-Sent Events until it ends.
		const events = await fetch(`${base}/training-jobs/${job.id}/events`, {
			headers: { authorization: `Bearer ${OWNER_KEY}` },
		});
		expect(events.headers.get("content-type")).toMatch(/text\/event-stream/);
		const text = await events.text();
		const progress = [...text.matchAll(/event: progress\ndata: (.*)\n/g)].map(
			m => JSON.parse(m[1]) as { epoch: number; metrics: Record<string, number> },
		);
		expect(progress.length).toBeGreaterThan(5);
		expect(progress[0].metrics).toHaveProperty("loss");
		expect(text).toMatch(/event: end\ndata: .*"completed"/);

		const done = await waitFor(
			"the job completed",
			async () => {
				const { body } = await request(`/training-jobs/${job.id}`);
				const view = body as JobView;
				if (view.state === "failed") throw new Error(`job failed: ${view.error}`);
				return view.state === "completed" ? view : undefined;
			},
			60_000,
		);
		expect(done.checkpoint).toMatchObject({ epoch: expect.any(Number) });
		expect(done.backend).toMatch(/wasm|cpu|tensorflow/);
		const result = done.result as {
			version: string;
			state: string;
			metrics: { accuracy: number };
		};
		expect(result.state).toBe("Validated");
		expect(result.metrics.accuracy).toBeGreaterThanOrEqual(0.93);

		const version = (await request(`/models/iris/versions/${result.version}`))
			.body as VersionView;
		expect(version).toMatchObject({ format: "onnx", state: "Validated" });
		expect(version.metrics.find(m => m.name === "accuracy")?.value).toBeGreaterThanOrEqual(
			0.93,
		);
		expect(version.lineage).toMatchObject({ trainingJob: job.id, seed: 3 });
		const alternates = (
			version.details as {
				alternates: Array<{ format: string; artifact: { sha256: string } }>;
			}
		).alternates;
		expect(alternates.map(a => a.format)).toEqual(["tfjs"]);
		// Its global importance, measured on the test split after training, is kept with it.
		const importance = (
			version.details as {
				importance: {
					method: string;
					metric: string;
					baseline: number;
					ranking: string[];
					dataset: { split: string };
				};
			}
		).importance;
		expect(importance).toMatchObject({
			method: "permutation",
			metric: "accuracy",
			seed: 3,
			dataset: { split: "test" },
		});
		expect(importance.baseline).toBeCloseTo(result.metrics.accuracy, 1);
		expect(importance.ranking).toHaveLength(4);

		// The TF.js files kept beside it import as a version of their own…
		const tfjs = await request("/models/iris/versions/import", {
			method: "POST",
			body: {
				artifact: alternates[0].artifact.sha256,
				version: "9.0.0",
				format: "tfjs",
				pipeline: version.pipeline,
				labels: version.labels,
			},
		});
		expect(tfjs.status).toBe(201);

		// …and the deployed ONNX export answers as the TF.js model does.
		const deployed = await request("/deployments", {
			method: "POST",
			body: { model: "iris", version: result.version },
		});
		expect(deployed.status).toBe(201);
		const rows = [
			[5.1, 3.5, 1.4, 0.2],
			[6.3, 3.3, 6.0, 2.5],
			[5.8, 2.7, 4.1, 1.0],
		];
		const input = version.schema.inputs[0];
		const infer = async (v: string) => {
			const response = await fetch(`${node.httpUrl}/v2/models/iris/versions/${v}/infer`, {
				method: "POST",
				headers: {
					authorization: `Bearer ${OWNER_KEY}`,
					"content-type": "application/json",
				},
				body: JSON.stringify({
					inputs: [
						{ name: input.name, datatype: "FP32", shape: [3, 4], data: rows.flat() },
					],
				}),
			});
			expect(response.status).toBe(200);
			return (await response.json()) as { outputs: Array<{ name: string; data: number[] }> };
		};
		const onnx = await infer(result.version);
		const reference = await infer("9.0.0");
		const probabilities = (r: typeof onnx) =>
			r.outputs.find(o => o.name === "probabilities") ?? r.outputs[0];
		const a = probabilities(onnx).data;
		const b = probabilities(reference).data;
		expect(a).toHaveLength(b.length);
		for (let i = 0; i < a.length; i++) {
			expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(b[i])));
		}
	}, 120_000);
});
