/**
 * A study survives its control node's restart: an all-in-one node (PGlite) is stopped while a
 * random study's trials train, and a new process on the same data directory carries the study
 * on from the database to its registered version, with every trial once.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startNode, type StartedNode } from "../../nodes/start-node";
import { apiClient, FAST_LOOPS_CPU_ONLY } from "../support/test-node";
import { freePort } from "../support/node-process";
import { waitFor } from "../support/wait";

const KEY = "mf_studies-restart-owner-key";

interface Study {
	id: string;
	state: string;
	error: string | null;
	trialsStarted: number;
	trialsFinished: number;
	best: { trial: number; version?: string } | null;
	trials: { trial: number; jobs: string[] }[];
}

describe("a study across a restart of its node", () => {
	const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mf-studies-restart-"));
	let node: StartedNode | null = null;

	async function start(): Promise<ReturnType<typeof apiClient>> {
		node = await startNode(
			"all-in-one",
			{
				...FAST_LOOPS_CPU_ONLY,
				HOST: "127.0.0.1",
				PORT: String(await freePort()),
				METRICS_PORT: "off",
				MODELFLEET_GRPC_PORT: "off",
				LOG_LEVEL: "error",
				MODELFLEET_DATA_DIR: dataDir,
				MODELFLEET_BOOTSTRAP_KEY: KEY,
				MODELFLEET_TRAINER_SLOTS: "2",
			},
			() => undefined,
		);
		return apiClient(`${node.httpUrl}/api/v1`, KEY);
	}

	afterAll(async () => {
		await node?.stop();
		fs.rmSync(dataDir, { recursive: true, force: true });
	});

	it("carries the study on after the node is stopped and started again", async () => {
		let request = await start();
		expect(
			(
				await request("/models", {
					method: "POST",
					body: { name: "digits", task: "classification", framework: "tfjs" },
				})
			).status,
		).toBe(201);
		const upload = await fetch(
			`${node!.httpUrl}/api/v1/datasets?name=digits&labelColumn=label`,
			{
				method: "POST",
				headers: { authorization: `Bearer ${KEY}`, "content-type": "text/csv" },
				body: fs.readFileSync(
					path.join(__dirname, "..", "fixtures", "datasets", "digits.csv"),
				),
			},
		);
		expect(upload.status).toBe(201);
		const created = await request("/studies", {
			method: "POST",
			body: {
				target: "digits",
				base: {
					dataset: "digits",
					labelColumn: "label",
					epochs: 6,
					batchSize: 32,
					seed: 1,
					checkpointEvery: 2,
				},
				space: { learningRate: { type: "loguniform", min: 0.001, max: 0.05 } },
				objective: { metric: "val_accuracy" },
				budget: { trials: 4 },
				parallelism: 2,
				seed: 5,
			},
		});
		expect(created.status).toBe(201);
		const id = (created.body as Study).id;
		await waitFor(
			"a trial training",
			async () =>
				((await request(`/studies/${id}`)).body as Study).trialsStarted > 0 || undefined,
			20_000,
			100,
		);
		await node!.stop();
		request = await start();
		const study = await waitFor(
			"the study completed after the restart",
			async () => {
				const view = (await request(`/studies/${id}`)).body as Study;
				if (view.state === "failed") throw new Error(`the study failed: ${view.error}`);
				return view.state === "completed" ? view : undefined;
			},
			60_000,
		);
		expect(study.trials.map(t => t.trial)).toEqual([0, 1, 2, 3]);
		expect(study.trials.every(t => t.jobs.length === 1)).toBe(true);
		expect(study.best?.version).toMatch(/^\d+\.\d+\.\d+$/);
	}, 120_000);
});
