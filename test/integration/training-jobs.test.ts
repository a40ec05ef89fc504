/**
 * The training queue's edges, through the gateway of an all-in-one node (trainer and scheduler
 * in one process): bad job specs are refused with 400 naming the field and queue nothing; a job
 * that fails on its trainer ends Failed with the reason and frees the trainer for the next; a
 * cancelled or expired running job frees its slot for the next job at once.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { StartedNode } from "../../nodes/start-node";
import type { JobView } from "../../lib/scheduler/job-store";
import {
	FAST_LOOPS_CPU_ONLY,
	startTestNode,
	type TestNode,
	type TestRequestInit,
} from "../support/test-node";
import { waitFor } from "../support/wait";

const OWNER_KEY = "mf_training-jobs-test-owner-key";
const FIXTURES = path.join(__dirname, "..", "fixtures", "datasets");

interface ErrorBody {
	message: string;
	type: string;
	/** The job spec's errors; Moleculer's own parameter check gives a list. */
	data?: { field?: string } | Array<{ field: string; message: string }>;
}

/** The field a 400 names, and its message(s). */
function named(error: ErrorBody): { field: string | undefined; message: string } {
	if (Array.isArray(error.data))
		return {
			field: error.data[0]?.field,
			message: error.data.map(e => e.message).join("; "),
		};
	return { field: error.data?.field, message: error.message };
}

describe("training jobs through the gateway", () => {
	let testNode: TestNode;
	let node: StartedNode;
	let base: string;
	let dataDir: string;

	const request = (url: string, init?: TestRequestInit) => testNode.request(url, init);

	async function upload(name: string, csv: string | Buffer): Promise<{ sha256: string }> {
		const response = await fetch(`${base}/datasets?name=${name}&labelColumn=label`, {
			method: "POST",
			headers: { authorization: `Bearer ${OWNER_KEY}`, "content-type": "text/csv" },
			body: csv,
		});
		expect(response.status).toBe(201);
		return (await response.json()) as { sha256: string };
	}

	const job = async (id: string) => (await request(`/training-jobs/${id}`)).body as JobView;

	async function enqueue(spec: Record<string, unknown>): Promise<JobView> {
		const queued = await request("/training-jobs", { method: "POST", body: spec });
		expect(queued.status).toBe(201);
		return queued.body as JobView;
	}

	function waitForState(id: string, state: JobView["state"], timeoutMs = 20_000) {
		return waitFor(
			`training job ${id} ${state}`,
			async () => {
				const view = await job(id);
				return view.state === state ? view : undefined;
			},
			timeoutMs,
		);
	}

	/** A digits job that trains until stopped (about 0.3 s an epoch here). */
	const long = {
		target: "digits",
		dataset: "digits",
		labelColumn: "label",
		seed: 5,
		epochs: 10_000,
		batchSize: 8,
		model: { preset: "large" },
	};
	/** An iris job of a second or so. */
	const short = {
		target: "iris",
		dataset: "iris",
		labelColumn: "label",
		epochs: 5,
		seed: 2,
		checkpointEvery: 0,
	};

	beforeAll(async () => {
		testNode = await startTestNode(OWNER_KEY, {
			...FAST_LOOPS_CPU_ONLY,
			LOG_LEVEL: "error",
			MODELFLEET_TRAINER_SLOTS: "1",
		});
		({ node, api: base, dataDir } = testNode);
		for (const name of ["iris", "digits", "lost"]) {
			const created = await request("/models", {
				method: "POST",
				body: { name, task: "classification", framework: "tfjs" },
			});
			expect(created.status).toBe(201);
		}
		await upload("iris", fs.readFileSync(path.join(FIXTURES, "iris.csv")));
		await upload("digits", fs.readFileSync(path.join(FIXTURES, "digits.csv")));
	}, 30_000);

	afterAll(() => testNode?.stop());

	it("refuses bad specs with 400 naming the field, and queues nothing", async () => {
		const iris = { target: "iris", dataset: "iris", labelColumn: "label" };
		const cases: Array<[string, Record<string, unknown>, string, RegExp]> = [
			["no target", { dataset: "iris", labelColumn: "label" }, "target", /target/],
			["no dataset", { target: "iris", labelColumn: "label" }, "dataset", /dataset/],
			["no label", { target: "iris", dataset: "iris" }, "labelColumn", /labelColumn/],
			["epochs 0", { ...iris, epochs: 0 }, "epochs", /epochs/],
			["epochs text", { ...iris, epochs: "ten" }, "epochs", /epochs/],
			["optimizer", { ...iris, optimizer: "adamw" }, "optimizer", /optimizer.*sgd/],
			["unknown field", { ...iris, lr: 0.1 }, "spec", /unknown field\(s\) lr/],
			[
				"layer units",
				{ ...iris, model: { layers: [{ units: 0 }] } },
				"model.layers[0].units",
				/model\.layers\[0\]\.units/,
			],
			[
				"layers and preset",
				{ ...iris, model: { layers: [{ units: 8 }], preset: "small" } },
				"model",
				/either layers or a preset/,
			],
			[
				"activation",
				{ ...iris, model: { layers: [{ units: 8, activation: "gelu" }] } },
				"model.layers[0].activation",
				/activation/,
			],
			[
				"split sum",
				{ ...iris, split: { train: 0.5, validation: 0.2, test: 0.2 } },
				"split",
				/train \+ validation \+ test must be 1/,
			],
			[
				"monitor without validation",
				{
					...iris,
					split: { train: 0.8, validation: 0, test: 0.2 },
					earlyStopping: { monitor: "val_loss" },
				},
				"earlyStopping.monitor",
				/validation split/,
			],
			[
				"monitor of the other task",
				{ ...iris, earlyStopping: { monitor: "val_mae" } },
				"earlyStopping.monitor",
				/regression/,
			],
			[
				"acceptance metric",
				{ ...iris, acceptance: { r2: { min: 0.5 } } },
				"acceptance.r2",
				/not a classification metric/,
			],
			[
				"acceptance bounds",
				{ ...iris, acceptance: { accuracy: { min: 0.9, max: 0.5 } } },
				"acceptance.accuracy",
				/above max/,
			],
			["learning rate", { ...iris, learningRate: 0 }, "learningRate", /learningRate/],
			["gpu flag", { ...iris, resources: { gpu: "yes" } }, "resources.gpu", /gpu/],
			["priority", { ...iris, priority: 1.5 }, "priority", /priority/],
			[
				"label column",
				{ ...iris, labelColumn: "species" },
				"labelColumn",
				/no column 'species'.*petal_length/,
			],
			[
				"feature column",
				{ ...iris, features: ["petal_length", "petal_area"] },
				"features",
				/no column 'petal_area'/,
			],
			[
				"label as feature",
				{ ...iris, features: ["petal_length", "label"] },
				"features",
				/label column/,
			],
			[
				"regression on classes",
				{ ...iris, task: "regression" },
				"labelColumn",
				/categorical.*classification/,
			],
		];
		for (const [name, body, field, message] of cases) {
			const reply = await request("/training-jobs", { method: "POST", body });
			const error = named(reply.body as ErrorBody);
			expect({ name, status: reply.status, field: error.field }).toEqual({
				name,
				status: 400,
				field,
			});
			expect({ name, message: error.message }).toEqual({
				name,
				message: expect.stringMatching(message),
			});
		}
		const missing: Array<[Record<string, unknown>, RegExp]> = [
			[{ target: "iris", dataset: "iris@7", labelColumn: "label" }, /iris@7/],
			[{ target: "nope", dataset: "iris", labelColumn: "label" }, /nope/],
		];
		for (const [body, message] of missing) {
			const reply = await request("/training-jobs", { method: "POST", body });
			expect(reply.status).toBe(404);
			expect((reply.body as ErrorBody).message).toMatch(message);
		}
		const { status, body } = await request("/training-jobs");
		expect({ status, body }).toEqual({ status: 200, body: { items: [], nextCursor: null } });
	});

	it("marks a job that fails on its trainer Failed with the reason, and runs the next one", async () => {
		// The dataset's stored file is lost: the trainer cannot read it.
		const { sha256 } = await upload("lost", "a,b,label\n" + "1,2,x\n3,4,y\n".repeat(20));
		const blob = fs
			.readdirSync(path.join(dataDir, "artifacts"), { recursive: true, withFileTypes: true })
			.find(entry => entry.isFile() && entry.name.includes(sha256));
		expect(blob).toBeDefined();
		fs.rmSync(path.join(blob!.parentPath, blob!.name));

		const doomed = await enqueue({ target: "lost", dataset: "lost", labelColumn: "label" });
		const failed = await waitForState(doomed.id, "failed", 10_000);
		expect(failed.error).toMatch(/dataset file/);
		expect(failed.error).toContain(node.broker.nodeID);
		expect(failed.attempts).toBe(1);

		const next = await enqueue(short);
		const done = await waitForState(next.id, "completed");
		expect(done.failures).toEqual([]);
	});

	it("gives a cancelled running job's slot to the next job at once, without a failed start", async () => {
		const running = await enqueue(long);
		await waitFor(
			"the long job past its first epoch",
			async () => ((await job(running.id)).epoch >= 1 ? true : undefined),
			20_000,
		);
		const next = await enqueue(short);
		expect((await job(next.id)).waitingReason).toMatch(/every trainer is busy/);

		const cancelled = await request(`/training-jobs/${running.id}/cancel`, {
			method: "POST",
			body: {},
		});
		expect(cancelled.body).toMatchObject({ state: "cancelled" });
		const done = await waitForState(next.id, "completed");
		expect(done).toMatchObject({ attempts: 1, failures: [] });
		const after = await job(running.id);
		expect(after.state).toBe("cancelled");
	}, 30_000);

	it("fails a running job past its deadline and starts the next one at once, without a failed start", async () => {
		const expiring = await enqueue({ ...long, deadlineMs: 2_500 });
		const next = await enqueue(short);
		const failed = await waitForState(expiring.id, "failed", 10_000);
		expect(failed.error).toMatch(/deadline passed after 1 run/);
		const done = await waitForState(next.id, "completed");
		expect(done).toMatchObject({ attempts: 1, failures: [] });
	}, 30_000);
});
