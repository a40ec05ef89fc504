/**
 * Studies and runs through the gateway of an all-in-one node: a small ASHA study on iris runs
 * its trials as training jobs (rung by rung), registers the best trial's version and points the
 * alias at it; its progress streams as SSE; the runs API lists the trials filtered, sorted by a
 * metric and tagged, and compares runs side by side; bad studies are refused with 400; another
 * tenant sees none of it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { apiClient, startTestNode, FAST_LOOPS_CPU_ONLY, type TestNode } from "../support/test-node";
import { waitFor } from "../support/wait";

const OWNER_KEY = "mf_studies-test-owner-key";
const FIXTURES = path.join(__dirname, "..", "fixtures", "datasets");

interface StudyBody {
	id: string;
	state: string;
	best: { trial: number; value: number; version?: string; epochs: number } | null;
	trials: { trial: number; rung: number; epochs: number; value: number | null; jobs: string[] }[];
	trialsStarted: number;
	epochsRun: number;
	error: string | null;
}

interface RunBody {
	id: string;
	study: { id: string; trial: number; rung: number } | null;
	metrics: Record<string, number>;
	tags: string[];
	params: Record<string, unknown>;
}

describe("studies and runs", () => {
	let testNode: TestNode;
	let study: StudyBody;

	const request = (url: string, init?: Parameters<TestNode["request"]>[1]) =>
		testNode.request(url, init);

	const studyRequest = {
		target: "iris",
		name: "iris-asha",
		base: { dataset: "iris", labelColumn: "label", epochs: 8, batchSize: 16 },
		space: {
			learningRate: { type: "loguniform", min: 0.001, max: 0.1 },
			units: { type: "choice", values: [4, 16] },
		},
		objective: { metric: "val_accuracy", direction: "max" },
		budget: { trials: 4 },
		parallelism: 2,
		searcher: { type: "asha", minEpochs: 2, reductionFactor: 2 },
		seed: 11,
		promote: { alias: "best" },
		tags: ["exp-1"],
	};

	beforeAll(async () => {
		testNode = await startTestNode(OWNER_KEY, {
			...FAST_LOOPS_CPU_ONLY,
			LOG_LEVEL: "error",
			MODELFLEET_TRAINER_SLOTS: "2",
		});
		expect(
			(
				await request("/models", {
					method: "POST",
					body: { name: "iris", task: "classification", framework: "tfjs" },
				})
			).status,
		).toBe(201);
		const uploaded = await fetch(`${testNode.api}/datasets?name=iris&labelColumn=label`, {
			method: "POST",
			headers: { authorization: `Bearer ${OWNER_KEY}`, "content-type": "text/csv" },
			body: fs.readFileSync(path.join(FIXTURES, "iris.csv")),
		});
		expect(uploaded.status).toBe(201);
	}, 30_000);

	afterAll(() => testNode?.stop());

	it("refuses a bad study with 400 naming the field, and starts nothing", async () => {
		const cases: [Record<string, unknown>, string][] = [
			[
				{ ...studyRequest, space: { nonsense: { type: "uniform", min: 0, max: 1 } } },
				"space.nonsense",
			],
			[
				{
					...studyRequest,
					space: { learningRate: { type: "loguniform", min: 0, max: 1 } },
				},
				"space.learningRate",
			],
			[{ ...studyRequest, space: { units: { type: "int", min: 0, max: 8 } } }, "space.units"],
			[{ ...studyRequest, objective: { metric: "val_mae" } }, "objective.metric"],
			[{ ...studyRequest, searcher: { type: "asha", minEpochs: 8 } }, "searcher.minEpochs"],
			[
				{ ...studyRequest, base: { ...studyRequest.base, earlyStopping: {} } },
				"base.earlyStopping",
			],
		];
		for (const [body, field] of cases) {
			const reply = await request("/studies", { method: "POST", body });
			expect(reply.status).toBe(400);
			expect((reply.body as { data: { field: string } }).data.field).toBe(field);
		}
		const missing = await request("/studies", {
			method: "POST",
			body: { ...studyRequest, target: "nope" },
		});
		expect(missing.status).toBe(404);
		expect(((await request("/studies")).body as { items: unknown[] }).items).toEqual([]);
	});

	it("runs an ASHA study to a registered, aliased version, streaming its progress", async () => {
		const created = await request("/studies", { method: "POST", body: studyRequest });
		expect(created.status).toBe(201);
		const id = (created.body as StudyBody).id;
		const events = await fetch(`${testNode.api}/studies/${id}/events`, {
			headers: { authorization: `Bearer ${OWNER_KEY}` },
		});
		expect(events.headers.get("content-type")).toMatch(/text\/event-stream/);
		study = await waitFor(
			"the study to complete",
			async () => {
				const view = (await request(`/studies/${id}`)).body as StudyBody;
				if (view.state === "failed") throw new Error(`study failed: ${view.error}`);
				return view.state === "completed" ? view : undefined;
			},
			50_000,
		);
		const text = await events.text();
		// A stream opened on a study that is over: the view, then `end` at once.
		const after = await fetch(`${testNode.api}/studies/${id}/events`, {
			headers: { authorization: `Bearer ${OWNER_KEY}` },
		});
		expect(await after.text()).toMatch(/^event: end\ndata: .*"state":"completed"/m);
		expect(text).toMatch(/^event: progress/m);
		expect(text).toMatch(/^event: end\ndata: .*"state":"completed"/m);

		// 4 trials at rung 0 (2 epochs), 2 at rung 1 (4), 1 at rung 2 (8): 4·2 + 2·2 + 1·4 epochs.
		expect(study.trialsStarted).toBe(4);
		expect(study.trials.map(t => t.rung).sort()).toEqual([0, 0, 1, 2]);
		expect(study.epochsRun).toBe(16);
		const values = study.trials.map(t => t.value ?? -1);
		// The best trial: the highest objective at its last rung, ties to the lower index.
		expect(study.best!.value).toBe(Math.max(...values));
		expect(study.best!.trial).toBe(
			study.trials.find(t => t.value === study.best!.value)!.trial,
		);
		expect(study.best?.version).toMatch(/^\d+\.\d+\.\d+$/);
		const version = (await request(`/models/iris/versions/${study.best!.version}`)).body as {
			lineage: { hyperparameters?: unknown };
		};
		expect(version).toHaveProperty("lineage");
		const aliases = (await request("/models/iris/aliases")).body as {
			alias: string;
			version: string;
		}[];
		expect(aliases).toContainEqual(
			expect.objectContaining({ alias: "best", version: study.best!.version }),
		);
		// Only the best trial was registered: one version.
		const versions = (await request("/models/iris/versions")).body as { items: unknown[] };
		expect(versions.items).toHaveLength(1);
	}, 60_000);

	it("lists the study's runs filtered, sorted by a metric and tagged, and compares them", async () => {
		const all = (await request(`/runs?study=${study.id}&sort=metric:val_accuracy&order=desc`))
			.body as {
			items: RunBody[];
		};
		expect(all.items.length).toBe(8); // 7 trial segments and the registering job
		const values = all.items.map(r => r.metrics.val_accuracy).filter(v => v !== undefined);
		expect(values).toEqual([...values].sort((a, b) => b - a));
		expect(all.items.every(r => r.tags.includes("exp-1"))).toBe(true);

		const paged = (await request(`/runs?study=${study.id}&limit=3`)).body as {
			items: RunBody[];
			nextCursor: string;
		};
		expect(paged.items).toHaveLength(3);
		const next = (await request(`/runs?study=${study.id}&limit=3&cursor=${paged.nextCursor}`))
			.body as {
			items: RunBody[];
		};
		expect(next.items.map(r => r.id)).not.toContain(paged.items[0].id);

		const [a, b] = all.items.filter(r => r.study?.rung === 0);
		const tagged = await request(`/runs/${a.id}`, {
			method: "PATCH",
			body: { tags: ["keep", "exp-1"] },
		});
		expect(tagged.status).toBe(200);
		const byTag = (await request("/runs?tag=keep")).body as { items: RunBody[] };
		expect(byTag.items.map(r => r.id)).toEqual([a.id]);

		const compared = (await request(`/runs/compare?ids=${a.id},${b.id}`)).body as {
			runs: { id: string }[];
			params: Record<string, unknown[]>;
			differing: string[];
			metrics: Record<string, (number | null)[]>;
		};
		expect(compared.runs.map(r => r.id)).toEqual([a.id, b.id]);
		expect(compared.differing).toContain("learningRate");
		expect(compared.params.learningRate).toEqual([
			a.params.learningRate,
			b.params.learningRate,
		]);
		expect(compared.metrics.val_accuracy).toEqual([
			a.metrics.val_accuracy,
			b.metrics.val_accuracy,
		]);
		expect((await request(`/runs/compare?ids=${a.id}`)).status).toBe(400);
		expect((await request("/runs?sort=bogus")).status).toBe(400);
	});

	it("shows another tenant none of it (404)", async () => {
		const tenant = await request("/tenants", { method: "POST", body: { name: "other" } });
		expect(tenant.status).toBe(201);
		const otherKey = (tenant.body as { ownerKey: { key: string } }).ownerKey.key;
		const other = (url: string) => apiClient(testNode.api, otherKey)(url);
		const run = study.trials[0].jobs[0];
		expect((await other(`/studies/${study.id}`)).status).toBe(404);
		expect((await other(`/runs/${run}`)).status).toBe(404);
		expect((await other(`/runs/compare?ids=${run},${study.trials[1].jobs[0]}`)).status).toBe(
			404,
		);
		expect(((await other("/runs")).body as { items: unknown[] }).items).toEqual([]);
		expect(((await other("/studies")).body as { items: unknown[] }).items).toEqual([]);
	});
});
