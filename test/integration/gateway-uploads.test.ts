/**
 * Uploads through the gateway in every form a client sends them: a raw body of any type
 * (an XGBoost JSON model sent as application/json arrives whole), and multipart/form-data as
 * a browser form or `curl -F file=@…` sends it — for model versions, artifacts and datasets.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { startTestNode, type TestNode } from "../support/test-node";
import { writeMlpModel } from "../unit/onnx/example-models";

const KEY = "mf_uploads-test-key";
const FIXTURES = path.join(__dirname, "..", "fixtures");

describe("uploads through the gateway", () => {
	let testNode: TestNode;
	let base: string;
	const auth = { authorization: `Bearer ${KEY}` };

	beforeAll(async () => {
		testNode = await startTestNode(KEY);
		base = testNode.api;
		for (const [name, framework] of [
			["mlp", "onnx"],
			["boosted", "xgboost"],
		]) {
			await fetch(`${base}/models`, {
				method: "POST",
				headers: { ...auth, "content-type": "application/json" },
				body: JSON.stringify({ name, task: "classification", framework }),
			});
		}
	});

	afterAll(() => testNode.stop());

	it("takes a model file as a multipart form, with its file name", async () => {
		const form = new FormData();
		form.append("file", new Blob([writeMlpModel()]), "mlp.onnx");
		const response = await fetch(`${base}/models/mlp/versions/upload?version=1.0.0`, {
			method: "POST",
			headers: auth,
			body: form,
		});
		expect(response.status).toBe(201);
		expect(await response.json()).toMatchObject({
			ref: "mlp@1.0.0",
			format: "onnx",
			artifact: { size: writeMlpModel().length },
		});
	});

	it("takes an XGBoost JSON model sent as application/json as the file it is", async () => {
		const file = fs.readFileSync(path.join(FIXTURES, "xgboost", "iris-multi-softprob.json"));
		const response = await fetch(`${base}/models/boosted/versions/upload?version=1.0.0`, {
			method: "POST",
			headers: { ...auth, "content-type": "application/json" },
			body: file,
		});
		expect(response.status).toBe(201);
		expect(await response.json()).toMatchObject({
			format: "xgboost-json",
			artifact: { size: file.length },
		});
	});

	it("takes artifacts and datasets as multipart forms", async () => {
		const artifact = new FormData();
		artifact.append("file", new Blob([Buffer.from("hello artifacts")]), "hello.txt");
		const stored = await fetch(`${base}/artifacts`, {
			method: "POST",
			headers: auth,
			body: artifact,
		});
		expect(stored.status).toBe(201);
		expect(await stored.json()).toMatchObject({ size: 15 });

		const dataset = new FormData();
		dataset.append(
			"file",
			new Blob([fs.readFileSync(path.join(FIXTURES, "datasets", "iris.csv"))]),
			"iris.csv",
		);
		const uploaded = await fetch(`${base}/datasets?name=iris&labelColumn=label`, {
			method: "POST",
			headers: auth,
			body: dataset,
		});
		expect(uploaded.status).toBe(201);
		expect(await uploaded.json()).toMatchObject({ name: "iris", rows: 150 });
	});

	it("answers 400 to a multipart form without a file part", async () => {
		const form = new FormData();
		form.append("note", "no file here");
		const response = await fetch(`${base}/models/mlp/versions/upload?version=2.0.0`, {
			method: "POST",
			headers: auth,
			body: form,
		});
		expect(response.status).toBe(400);
		expect(((await response.json()) as { message: string }).message).toMatch(/no file part/);
	});
});
