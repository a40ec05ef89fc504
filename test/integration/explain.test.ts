/**
 * Explanations through the gateway on an all-in-one node: TreeSHAP of an uploaded XGBoost model
 * against XGBoost's own pred_contribs, KernelSHAP of an uploaded linear ONNX model against
 * w·(x − E[background]) with the background given as rows and as a dataset, by alias and by
 * version; another tenant gets 404 and a viewer key 403.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { SeededRandom } from "../../lib/datasets/seeded-random";
import { apiClient, startTestNode, type TestNode } from "../support/test-node";
import { uniform, writeLinearModel } from "../unit/explain/explain-models";
import { writeMlpModel } from "../unit/onnx/example-models";

const KEY = "mf_explain-test-owner";
const SHAP = path.join(__dirname, "..", "fixtures", "xgboost", "shap");

interface Fixture {
	features: string[];
	rows: (number | null)[][];
	margins: number[][];
	contributions: number[][][];
}

interface Explained {
	modelName: string;
	modelVersion: string;
	method: string;
	outputSpace: string;
	features: string[];
	outputs: string[];
	exact?: boolean;
	backgroundRows?: number;
	explanations: {
		method: string;
		baseValue: number | Record<string, number>;
		contributions: Record<string, number> | Record<string, Record<string, number>>;
		output: number | Record<string, number>;
	}[];
}

describe("POST /api/v1/models/{model}[/versions/{version}]/explain", () => {
	let testNode: TestNode;
	let request: TestNode["request"];
	const fixture = JSON.parse(
		fs.readFileSync(path.join(SHAP, "shap-multi-softprob.contribs.json"), "utf8"),
	) as Fixture;
	// Rows without missing values: the served schema refuses missing values it does not impute.
	const complete = fixture.rows
		.map((row, r) => ({ row: row as number[], r }))
		.filter(({ row }) => !row.includes(null as unknown as number))
		.slice(0, 12);
	const M = 5;
	const random = new SeededRandom(3);
	const w = uniform(random, M, -2, 2);
	const x = Array.from({ length: 2 }, () => Array.from(uniform(random, M, -3, 3)));
	const background = Array.from({ length: 30 }, () => Array.from(uniform(random, M, -1, 1)));

	async function upload(model: string, file: Buffer | Uint8Array, framework: string) {
		expect(
			(
				await request("/models", {
					method: "POST",
					body: { name: model, task: "classification", framework },
				})
			).status,
		).toBe(201);
		const response = await fetch(
			`${testNode.api}/models/${model}/versions/upload?version=1.0.0`,
			{
				method: "POST",
				headers: { authorization: `Bearer ${KEY}` },
				body: file,
			},
		);
		expect(response.status).toBe(201);
	}

	beforeAll(async () => {
		testNode = await startTestNode(KEY, {
			LOG_LEVEL: "error",
			MODELFLEET_POOL_THREADS: "1",
			MODELFLEET_GPUS: "none",
		});
		request = testNode.request;
		await upload(
			"trees",
			fs.readFileSync(path.join(SHAP, "shap-multi-softprob.json")),
			"xgboost",
		);
		await upload("linear", writeLinearModel(w, 0.5), "onnx");
		expect(
			(
				await request("/models/trees/aliases/champion", {
					method: "PUT",
					body: { version: "1.0.0" },
				})
			).status,
		).toBe(200);
		const csv = [
			"f0,f1,f2,f3,f4,label",
			...background.map((row, i) => `${row.join(",")},${i % 2}`),
		];
		const dataset = await fetch(
			`${testNode.api}/datasets?name=bg&format=csv&labelColumn=label`,
			{
				method: "POST",
				headers: { authorization: `Bearer ${KEY}`, "content-type": "text/csv" },
				body: csv.join("\n") + "\n",
			},
		);
		expect(dataset.status).toBe(201);
	}, 120_000);

	afterAll(() => testNode?.stop());

	it("explains an XGBoost model by TreeSHAP, as XGBoost's pred_contribs, per class, adding up to the margins", async () => {
		const answer = await request("/models/trees@champion/explain", {
			method: "POST",
			body: {
				instances: complete.map(({ row }) =>
					Object.fromEntries(fixture.features.map((name, j) => [name, row[j]])),
				),
			},
		});
		expect(answer.status).toBe(200);
		const body = answer.body as Explained;
		expect(body).toMatchObject({
			modelName: "trees",
			modelVersion: "1.0.0",
			method: "tree-shap",
			outputSpace: "margin",
			features: fixture.features,
			outputs: ["0", "1", "2"],
		});
		expect(body.explanations).toHaveLength(complete.length);
		body.explanations.forEach((row, i) => {
			const r = complete[i].r;
			expect(row.method).toBe("tree-shap");
			for (let g = 0; g < 3; g++) {
				const contributions = (row.contributions as Record<string, Record<string, number>>)[
					String(g)
				];
				const base = (row.baseValue as Record<string, number>)[String(g)];
				const output = (row.output as Record<string, number>)[String(g)];
				expect(Object.keys(contributions)).toEqual(fixture.features);
				fixture.features.forEach((name, j) =>
					expect(
						Math.abs(contributions[name] - fixture.contributions[r][g][j]),
					).toBeLessThan(1e-5),
				);
				expect(Math.abs(base - fixture.contributions[r][g][M + 1])).toBeLessThan(1e-5);
				const sum = base + Object.values(contributions).reduce((a, b) => a + b, 0);
				expect(Math.abs(sum - output)).toBeLessThan(1e-5);
				expect(Math.abs(output - fixture.margins[r][g])).toBeLessThan(1e-5);
			}
		});

		// One class, rows as arrays, by version.
		const one = await request("/models/trees/versions/1.0.0/explain", {
			method: "POST",
			body: { instances: [complete[0].row], output: 2 },
		});
		expect(one.status).toBe(200);
		const single = (one.body as Explained).explanations[0];
		expect(typeof single.baseValue).toBe("number");
		expect(
			Math.abs(
				(single.contributions as Record<string, number>).age -
					fixture.contributions[complete[0].r][2][0],
			),
		).toBeLessThan(1e-5);
	});

	it("explains an ONNX model by KernelSHAP: w·(x − E[background]) with rows or a dataset as the background", async () => {
		for (const given of [background, { dataset: "bg@1", rows: 1000 }]) {
			const answer = await request("/models/linear/explain", {
				method: "POST",
				body: { instances: x, background: given },
			});
			expect(answer.status).toBe(200);
			const body = answer.body as Explained;
			expect(body).toMatchObject({
				method: "kernel-shap",
				outputSpace: "y",
				features: ["f0", "f1", "f2", "f3", "f4"],
				outputs: ["0"],
				exact: true,
				backgroundRows: 30,
			});
			body.explanations.forEach((row, r) => {
				const contributions = row.contributions as Record<string, number>;
				for (let j = 0; j < M; j++) {
					const mean =
						background.reduce((s, b) => s + Math.fround(b[j]), 0) / background.length;
					expect(
						Math.abs(contributions[`f${j}`] - w[j] * (Math.fround(x[r][j]) - mean)),
					).toBeLessThan(1e-4);
				}
				const sum = Object.values(contributions).reduce((a, b) => a + b, 0);
				expect(
					Math.abs((row.baseValue as number) + sum - (row.output as number)),
				).toBeLessThan(1e-5);
			});
		}
	});

	it("asks for a background when the version has no training dataset, and refuses tree-shap for ONNX", async () => {
		const none = await request("/models/linear/explain", {
			method: "POST",
			body: { instances: x },
		});
		expect(none.status).toBe(400);
		expect((none.body as { message: string }).message).toMatch(/background/);
		const tree = await request("/models/linear/explain", {
			method: "POST",
			body: { instances: x, background, method: "tree-shap" },
		});
		expect(tree.status).toBe(400);
	});

	it("answers 404 to another tenant and 403 to a viewer key", async () => {
		const tenant = await request("/tenants", {
			method: "POST",
			body: { name: "explain-other" },
		});
		expect(tenant.status).toBe(201);
		const other = apiClient(
			testNode.api,
			(tenant.body as { ownerKey: { key: string } }).ownerKey.key,
		);
		for (const model of ["trees", "linear"])
			expect(
				(
					await other(`/models/${model}/explain`, {
						method: "POST",
						body: { instances: x },
					})
				).status,
			).toBe(404);
		const viewer = await request("/keys", {
			method: "POST",
			body: { name: "viewer", role: "viewer" },
		});
		expect(viewer.status).toBe(201);
		const asViewer = apiClient(testNode.api, (viewer.body as { key: string }).key);
		expect(
			(
				await asViewer("/models/linear/explain", {
					method: "POST",
					body: { instances: x, background },
				})
			).status,
		).toBe(403);
	});

	describe("POST /api/v1/models/{model}/versions/{version}/importance", () => {
		// y = x·w + 0.5 with a feature the model ignores (w = 0): it must score exactly 0.
		const W = Float32Array.of(2, 0, -1, 0.5, 3);
		const rows = Array.from({ length: 120 }, () => Array.from(uniform(random, M, -1, 1)));

		beforeAll(async () => {
			expect(
				(
					await request("/models", {
						method: "POST",
						body: { name: "lin0", task: "regression", framework: "onnx" },
					})
				).status,
			).toBe(201);
			const upload = await fetch(
				`${testNode.api}/models/lin0/versions/upload?version=2.0.0`,
				{
					method: "POST",
					headers: { authorization: `Bearer ${KEY}` },
					body: writeLinearModel(W, 0.5),
				},
			);
			expect(upload.status).toBe(201);
			const csv = [
				"f0,f1,f2,f3,f4,y",
				...rows.map(
					row => `${row.join(",")},${row.reduce((a, v, j) => a + v * W[j], 0.5)}`,
				),
			];
			const dataset = await fetch(`${testNode.api}/datasets?name=lin0-eval&labelColumn=y`, {
				method: "POST",
				headers: { authorization: `Bearer ${KEY}`, "content-type": "text/csv" },
				body: csv.join("\n") + "\n",
			});
			expect(dataset.status).toBe(201);
		});

		it("measures an imported version against a named dataset, keeps it with the version and shows it", async () => {
			const answer = await request("/models/lin0/versions/2.0.0/importance", {
				method: "POST",
				body: { dataset: "lin0-eval", repeats: 3, seed: 4 },
			});
			expect(answer.status).toBe(200);
			const body = answer.body as {
				model: string;
				version: string;
				importance: {
					method: string;
					metric: string;
					baseline: number;
					rows: number;
					repeats: number;
					ranking: string[];
					features: { name: string; importance: number; std: number; drops: number[] }[];
					dataset: { ref: string; sha256: string };
				};
			};
			expect(body).toMatchObject({ model: "lin0", version: "2.0.0" });
			const { importance } = body;
			expect(importance).toMatchObject({
				method: "permutation",
				metric: "rmse",
				rows: 120,
				repeats: 3,
				dataset: { ref: "lin0-eval@1" },
			});
			expect(importance.baseline).toBeLessThan(1e-5);
			expect(importance.ranking).toEqual(["f4", "f0", "f2", "f3", "f1"]);
			const f1 = importance.features.find(f => f.name === "f1")!;
			expect(f1).toMatchObject({ importance: 0, std: 0, drops: [0, 0, 0] });

			const version = await request("/models/lin0/versions/2.0.0");
			expect(version.status).toBe(200);
			expect(
				(version.body as { details: { importance: unknown } }).details.importance,
			).toEqual(importance);
		});

		it("scores a classifier by accuracy against class labels, as the walk-through in explanations.md does", async () => {
			await upload("mlp-imp", writeMlpModel(), "onnx");
			const csv = "a,b,c,d,label\n1,2,3,4,1\n-1,0,1,0,0\n2,1,0,3,1\n0,0,1,1,0\n";
			const dataset = await fetch(
				`${testNode.api}/datasets?name=mlp-eval&labelColumn=label`,
				{
					method: "POST",
					headers: { authorization: `Bearer ${KEY}`, "content-type": "text/csv" },
					body: csv,
				},
			);
			expect(dataset.status).toBe(201);
			const answer = await request("/models/mlp-imp/versions/1.0.0/importance", {
				method: "POST",
				body: { dataset: "mlp-eval", repeats: 10, seed: 1 },
			});
			expect(answer.status).toBe(200);
			const { importance } = answer.body as {
				importance: { metric: string; rows: number; baseline: number; features: unknown[] };
			};
			expect(importance).toMatchObject({ metric: "accuracy", rows: 4 });
			expect(importance.features).toHaveLength(4);
			expect(importance.baseline).toBeGreaterThanOrEqual(0);
			expect(importance.baseline).toBeLessThanOrEqual(1);
		});

		it("refuses a dataset without the label column (400), a viewer (403) and another tenant (404)", async () => {
			const noLabel = await request("/models/lin0/versions/2.0.0/importance", {
				method: "POST",
				body: { dataset: "lin0-eval", labelColumn: "nope" },
			});
			expect(noLabel.status).toBe(400);
			expect(JSON.stringify(noLabel.body)).toContain("nope");
			const missing = await request("/models/lin0/versions/2.0.0/importance", {
				method: "POST",
				body: { dataset: "no-such-dataset" },
			});
			expect(missing.status).toBe(404);
			const viewer = await request("/keys", {
				method: "POST",
				body: { name: "importance-viewer", role: "viewer" },
			});
			const asViewer = apiClient(testNode.api, (viewer.body as { key: string }).key);
			expect(
				(
					await asViewer("/models/lin0/versions/2.0.0/importance", {
						method: "POST",
						body: { dataset: "lin0-eval" },
					})
				).status,
			).toBe(403);
			const tenant = await request("/tenants", {
				method: "POST",
				body: { name: "importance-other" },
			});
			const other = apiClient(
				testNode.api,
				(tenant.body as { ownerKey: { key: string } }).ownerKey.key,
			);
			expect(
				(
					await other("/models/lin0/versions/2.0.0/importance", {
						method: "POST",
						body: { dataset: "lin0-eval" },
					})
				).status,
			).toBe(404);
		});
	});
});
