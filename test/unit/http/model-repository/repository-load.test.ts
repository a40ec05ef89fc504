import { createHash } from "node:crypto";
import { AlreadyExistsError, NotFoundError } from "../../../../lib/errors";
import type { FleetNode } from "../../../../lib/fleet/node-inventory";
import { parseLoadRequest } from "../../../../lib/http/model-repository/load-request";
import type {
	ImportParams,
	RepositoryPort,
} from "../../../../lib/http/model-repository/repository-port";
import { repositoryIndex } from "../../../../lib/http/model-repository/repository-index";
import { loadModel, unloadModel } from "../../../../lib/http/model-repository/repository-load";
import type { ModelView } from "../../../../lib/registry/model-store";
import type { VersionView } from "../../../../lib/registry/version-store";
import type {
	CreateDeploymentParams,
	UpdateDeploymentParams,
} from "../../../../lib/scheduler/deployment-spec";
import type { DeploymentView } from "../../../../lib/scheduler/deployment-store";

const TENANT = "t1";

/** The registry, artifact store and scheduler of one tenant, in memory; replicas get ready on `settle()`. */
class FakeFleet implements RepositoryPort {
	readonly modelsByName = new Map<string, ModelView>();
	readonly versionsOf = new Map<string, VersionView[]>();
	readonly deploymentsByModel = new Map<string, DeploymentView>();
	readonly blobs = new Map<string, Buffer>();
	readonly calls: string[] = [];
	/** Keys (`tenant/model@version`) the node reports pinned. */
	readonly pinned = new Set<string>();
	/** Whether placed replicas become ready (and pinned) on their own. */
	autoReady = true;
	importFails: Error | null = null;

	addModel(name: string): void {
		this.modelsByName.set(name, { name } as ModelView);
		this.versionsOf.set(name, []);
	}

	addVersion(model: string, version: string, state: VersionView["state"], sha256 = "x"): void {
		this.versionsOf.get(model)!.push({
			model,
			version,
			state,
			artifact: { sha256, size: 1 },
			aliases: [],
		} as unknown as VersionView);
	}

	/** What the reconciler does on a pass: replicas placed, loaded, reported. */
	settle(): void {
		for (const d of this.deploymentsByModel.values()) {
			if (d.replicas === 0) continue;
			d.readyReplicas = d.replicas;
			d.placements = [{ nodeID: "w1", gpuIndex: null, state: "ready", updatedAt: "" }];
			d.status = "running";
			for (const t of d.traffic) this.pinned.add(`${TENANT}/${d.model}@${t.version}`);
		}
	}

	async models(): Promise<ModelView[]> {
		return [...this.modelsByName.values()];
	}
	async model(name: string): Promise<ModelView> {
		const model = this.modelsByName.get(name);
		if (!model) throw new NotFoundError("model", name);
		return model;
	}
	async createModel(input: { name: string; framework: string }): Promise<ModelView> {
		this.calls.push(`createModel ${input.name} ${input.framework}`);
		this.addModel(input.name);
		return this.modelsByName.get(input.name)!;
	}
	async deleteModel(name: string): Promise<void> {
		this.calls.push(`deleteModel ${name}`);
		this.modelsByName.delete(name);
		this.versionsOf.delete(name);
	}
	async versions(model: string): Promise<VersionView[]> {
		await this.model(model);
		return [...this.versionsOf.get(model)!];
	}
	async version(model: string, version?: string): Promise<VersionView> {
		const found = (await this.versions(model)).find(
			v => v.version === version || v.aliases.includes(version ?? ""),
		);
		if (!found) throw new NotFoundError("version", `${model}@${version}`);
		return found;
	}
	async store(bytes: Buffer): Promise<string> {
		const sha256 = createHash("sha256").update(bytes).digest("hex");
		this.blobs.set(sha256, bytes);
		return sha256;
	}
	async importVersion(params: ImportParams): Promise<VersionView> {
		this.calls.push(
			`import ${params.model}@${params.version} ${params.format} ${params.fileName}`,
		);
		if (this.importFails) throw this.importFails;
		this.addVersion(params.model, params.version, params.state, params.artifact);
		return this.version(params.model, params.version);
	}
	async deployments(): Promise<DeploymentView[]> {
		return [...this.deploymentsByModel.values()];
	}
	async deployment(model: string): Promise<DeploymentView | null> {
		if (this.autoReady) this.settle();
		return this.deploymentsByModel.get(model) ?? null;
	}
	async createDeployment(params: CreateDeploymentParams): Promise<DeploymentView> {
		this.calls.push(`create ${params.model}@${params.version} x${params.replicas}`);
		const version = await this.version(params.model, params.version);
		version.state = "Deployed";
		const d = {
			tenantId: TENANT,
			model: params.model,
			replicas: params.replicas ?? 1,
			maxReplicas: params.replicas ?? 1,
			traffic: [{ version: version.version, versionId: version.version, weight: 100 }],
			shadow: null,
			batching: params.batching ?? {},
			readyReplicas: 0,
			placements: [],
			status: "deploying",
			statusReason: null,
		} as unknown as DeploymentView;
		this.deploymentsByModel.set(params.model, d);
		return d;
	}
	async updateDeployment(params: UpdateDeploymentParams): Promise<DeploymentView> {
		this.calls.push(`update ${JSON.stringify(params)}`);
		const d = this.deploymentsByModel.get(params.model)!;
		if (params.traffic) d.traffic = params.traffic.map(t => ({ ...t, versionId: t.version }));
		if (params.replicas !== undefined) d.replicas = params.replicas;
		return d;
	}
	async deleteDeployment(model: string): Promise<void> {
		this.calls.push(`delete ${model}`);
		this.deploymentsByModel.delete(model);
	}
	async nodes(): Promise<FleetNode[]> {
		return [
			{
				nodeID: "w1",
				status: {
					serving: { models: [...this.pinned].map(key => ({ key, pinned: true })) },
				},
			} as unknown as FleetNode,
		];
	}
}

const FAST = { timeoutMs: 1000, intervalMs: 1 };
const onnx = (files: Record<string, string>, config: object = { backend: "onnxruntime" }) =>
	parseLoadRequest(
		{
			parameters: {
				config: JSON.stringify(config),
				...Object.fromEntries(
					Object.entries(files).map(([k, v]) => [k, Buffer.from(v).toString("base64")]),
				),
			},
		},
		"m",
	);
const plain = (parameters: object = {}) => parseLoadRequest({ parameters }, "m");

describe("loadModel", () => {
	let fleet: FakeFleet;
	beforeEach(() => {
		fleet = new FakeFleet();
	});

	it("deploys the newest Validated or Deployed version with one replica and answers READY", async () => {
		fleet.addModel("m");
		fleet.addVersion("m", "1.0.0", "Validated");
		fleet.addVersion("m", "1.10.0", "Validated");
		fleet.addVersion("m", "2.0.0", "Trained");
		expect(await loadModel(fleet, "m", plain(), FAST)).toEqual({
			name: "m",
			version: "1.10.0",
			state: "READY",
			reason: "",
		});
		expect(fleet.calls).toEqual(["create m@1.10.0 x1"]);
	});

	it("loads the version a parameter, the config's version_policy or an alias names", async () => {
		fleet.addModel("m");
		fleet.addVersion("m", "1.0.0", "Validated");
		fleet.addVersion("m", "2.0.0", "Validated");
		fleet.versionsOf.get("m")![0].aliases.push("champion");
		expect((await loadModel(fleet, "m", plain({ version: "1" }), FAST)).version).toBe("1.0.0");
		const policy = { version_policy: { specific: { versions: [2] } } };
		expect((await loadModel(fleet, "m", plain({ config: policy }), FAST)).version).toBe(
			"2.0.0",
		);
		expect((await loadModel(fleet, "m@champion", plain(), FAST)).version).toBe("1.0.0");
		expect(fleet.calls).toEqual([
			"create m@1.0.0 x1",
			'update {"model":"m","traffic":[{"version":"2.0.0","weight":100}]}',
			'update {"model":"m","traffic":[{"version":"1.0.0","weight":100}]}',
		]);
	});

	it("leaves a deployment that already serves the version alone, but scales one at 0 to a replica", async () => {
		fleet.addModel("m");
		fleet.addVersion("m", "1.0.0", "Validated");
		await loadModel(fleet, "m", plain(), FAST);
		await loadModel(fleet, "m", plain(), FAST);
		fleet.deploymentsByModel.get("m")!.replicas = 0;
		fleet.deploymentsByModel.get("m")!.readyReplicas = 0;
		await loadModel(fleet, "m", plain(), FAST);
		expect(fleet.calls).toEqual(["create m@1.0.0 x1", 'update {"model":"m","replicas":1}']);
	});

	it("waits for a switched version to be pinned on a ready replica before answering", async () => {
		fleet.addModel("m");
		fleet.addVersion("m", "1.0.0", "Validated");
		fleet.addVersion("m", "2.0.0", "Validated");
		await loadModel(fleet, "m", plain({ version: "1" }), FAST);
		fleet.autoReady = false;
		let polls = 0;
		const loading = loadModel(fleet, "m", plain({ version: "2" }), {
			timeoutMs: 5000,
			intervalMs: 1,
			sleep: async () => {
				// The replica stays ready throughout; the node reports 2.0.0 pinned after a few looks.
				if (++polls === 3) fleet.pinned.add(`${TENANT}/m@2.0.0`);
			},
		});
		expect((await loading).version).toBe("2.0.0");
		expect(polls).toBe(3);
	});

	it("answers 503 MODEL_LOAD_FAILED with the deployment's reason when no replica is ready in time", async () => {
		fleet.addModel("m");
		fleet.addVersion("m", "1.0.0", "Validated");
		fleet.autoReady = false;
		let clock = 0;
		const failure = await loadModel(fleet, "m", plain(), {
			timeoutMs: 1000,
			now: () => clock,
			sleep: async ms => {
				clock += ms;
				const d = fleet.deploymentsByModel.get("m")!;
				d.status = "pending";
				d.statusReason = "no node with 20 MiB of model memory free";
			},
		}).catch((e: unknown) => e);
		expect(failure).toMatchObject({
			code: 503,
			type: "MODEL_LOAD_FAILED",
			message: expect.stringMatching(/pending: no node with 20 MiB.*unload/),
		});
		expect(fleet.deploymentsByModel.has("m")).toBe(true);
	});

	it("refuses a version that is not Validated or Deployed, and a model with none (409)", async () => {
		fleet.addModel("m");
		fleet.addVersion("m", "1.0.0", "Trained");
		await expect(loadModel(fleet, "m", plain(), FAST)).rejects.toMatchObject({
			code: 409,
			message: expect.stringMatching(/no Validated or Deployed version/),
		});
		await expect(loadModel(fleet, "m", plain({ version: "1" }), FAST)).rejects.toMatchObject({
			code: 409,
			message: expect.stringMatching(/1\.0\.0 of 'm' is Trained/),
		});
		await expect(loadModel(fleet, "nope", plain(), FAST)).rejects.toBeInstanceOf(NotFoundError);
		expect(fleet.calls).toEqual([]);
	});

	it("publishes files as Validated versions of a new model, then serves the newest", async () => {
		const request = onnx({ "file:1/model.onnx": "one", "file:2/model.onnx": "two" });
		expect((await loadModel(fleet, "m", request, FAST)).version).toBe("2.0.0");
		expect(fleet.calls).toEqual([
			"createModel m onnx",
			"import m@1.0.0 onnx model.onnx",
			"import m@2.0.0 onnx model.onnx",
			"create m@2.0.0 x1",
		]);
		expect([...fleet.blobs.values()].map(b => b.toString()).sort()).toEqual(["one", "two"]);
	});

	it("takes the same files again as the same version, and refuses other files for it (409)", async () => {
		await loadModel(fleet, "m", onnx({ "file:1/model.onnx": "one" }), FAST);
		await loadModel(fleet, "m", onnx({ "file:1/model.onnx": "one" }), FAST);
		await expect(
			loadModel(fleet, "m", onnx({ "file:1/model.onnx": "changed" }), FAST),
		).rejects.toBeInstanceOf(AlreadyExistsError);
		expect(fleet.calls.filter(c => c.startsWith("import"))).toHaveLength(1);
	});

	it("packs a TF.js model's files into one tar, and names XGBoost's framework", async () => {
		const tfjs = onnx({ "file:1/model.json": "{}", "file:1/w.bin": "w" }, { backend: "tfjs" });
		await loadModel(fleet, "t", tfjs, FAST);
		const fil = {
			backend: "fil",
			parameters: { model_type: { string_value: "xgboost_json" } },
		};
		await loadModel(fleet, "x", onnx({ "file:1/xgboost.json": "{}" }, fil), FAST);
		expect(fleet.calls).toEqual([
			"createModel t tfjs",
			"import t@1.0.0 tfjs model.tar",
			"create t@1.0.0 x1",
			"createModel x xgboost",
			"import x@1.0.0 xgboost-json xgboost.json",
			"create x@1.0.0 x1",
		]);
		const tar = [...fleet.blobs.values()].find(b => b.length >= 1024)!;
		expect(tar.subarray(0, 10).toString()).toBe("model.json");
		expect(tar.subarray(257, 262).toString()).toBe("ustar");
	});

	it("refuses two files for a one-file format, and removes a model only its failed load made", async () => {
		await expect(
			loadModel(fleet, "m", onnx({ "file:1/a.onnx": "a", "file:1/b.onnx": "b" }), FAST),
		).rejects.toMatchObject({ code: 400, message: expect.stringMatching(/one file; got 2/) });
		expect(fleet.modelsByName.has("m")).toBe(false);
		fleet.importFails = Object.assign(new Error("not ONNX"), { code: 400 });
		await expect(loadModel(fleet, "m", onnx({ "file:1/a.onnx": "a" }), FAST)).rejects.toBe(
			fleet.importFails,
		);
		expect(fleet.modelsByName.has("m")).toBe(false);
		fleet.addModel("kept");
		await expect(loadModel(fleet, "kept", onnx({ "file:1/a.onnx": "a" }), FAST)).rejects.toBe(
			fleet.importFails,
		);
		expect(fleet.modelsByName.has("kept")).toBe(true);
	});
});

describe("unloadModel", () => {
	it("deletes the model's deployment; a model not loaded answers unloaded, an unknown one 404", async () => {
		const fleet = new FakeFleet();
		fleet.addModel("m");
		fleet.addVersion("m", "1.0.0", "Validated");
		await loadModel(fleet, "m", plain(), FAST);
		const unloaded = { name: "m", state: "UNAVAILABLE", reason: "unloaded" };
		expect(await unloadModel(fleet, "m")).toEqual(unloaded);
		expect(fleet.deploymentsByModel.has("m")).toBe(false);
		expect(await unloadModel(fleet, "m@champion")).toEqual(unloaded);
		await expect(unloadModel(fleet, "nope")).rejects.toBeInstanceOf(NotFoundError);
	});
});

describe("repositoryIndex", () => {
	it("lists every version of every model with its state and reason; ready keeps READY ones", async () => {
		const fleet = new FakeFleet();
		fleet.addModel("b");
		fleet.addVersion("b", "2.0.0", "Validated");
		fleet.addVersion("b", "10.0.0", "Validated");
		fleet.addVersion("b", "3.0.0", "Draft");
		fleet.addModel("a");
		fleet.addModel("c");
		fleet.addVersion("c", "1.0.0", "Validated");
		await loadModel(fleet, "b", plain({ version: "10.0.0" }), FAST);
		fleet.autoReady = false;
		await fleet.createDeployment({ model: "c", version: "1.0.0", replicas: 1 });
		expect(await repositoryIndex(fleet, { ready: false })).toEqual([
			{ name: "a", state: "UNAVAILABLE", reason: "no versions" },
			{ name: "b", version: "2.0.0", state: "UNAVAILABLE", reason: "unloaded" },
			{
				name: "b",
				version: "3.0.0",
				state: "UNAVAILABLE",
				reason: "version is Draft; only Validated versions can be loaded",
			},
			{ name: "b", version: "10.0.0", state: "READY", reason: "" },
			{ name: "c", version: "1.0.0", state: "LOADING", reason: "a replica is loading" },
		]);
		expect(await repositoryIndex(fleet, { ready: true })).toEqual([
			{ name: "b", version: "10.0.0", state: "READY", reason: "" },
		]);
	});
});
