/**
 * Deployments on an all-in-one node over HTTP: lifecycle (Validated ⇄ Deployed), placement and
 * status, traffic split by weight (canary), sticky routing keys, promote, one-call rollback,
 * shadow traffic, and a GPU deployment that waits with its reason on a CPU-only node.
 */
import type { StartedNode } from "../../nodes/start-node";
import {
	FAST_LOOPS_CPU_ONLY,
	startTestNode,
	type TestNode,
	type TestReply,
	type TestRequestInit,
} from "../support/test-node";
import { waitFor } from "../support/wait";
import { Predictor } from "../../lib/predictor/predictor";
import { writeMlpModel } from "../unit/onnx/example-models";
import type { DeploymentView } from "../../lib/scheduler/deployment-store";

const OWNER_KEY = "mf_deployments-test-owner-key";

describe("deployments on an all-in-one node", () => {
	let testNode: TestNode;
	let node: StartedNode;
	let base: string;
	const request = (url: string, init?: TestRequestInit) => testNode.request(url, init);

	async function uploadVersion(model: string, version: string, state: string): Promise<void> {
		const response = await fetch(
			`${base}/models/${model}/versions/upload?version=${version}&fileName=mlp.onnx&state=${state}`,
			{
				method: "POST",
				headers: {
					authorization: `Bearer ${OWNER_KEY}`,
					"content-type": "application/octet-stream",
				},
				body: writeMlpModel(),
			},
		);
		expect(response.status).toBe(201);
	}

	const predictBody = {
		inputs: [{ name: "x", datatype: "FP32", shape: [1, 4], data: [1, 2, 3, 4] }],
	};

	async function predict(
		model: string,
		headers: Record<string, string> = {},
	): Promise<TestReply> {
		return request(`/models/${model}/predict`, { method: "POST", body: predictBody, headers });
	}

	async function versionState(model: string, version: string): Promise<string> {
		const { body } = await request(`/models/${model}/versions/${version}`);
		return (body as { state: string }).state;
	}

	function waitForStatus(model: string, status: string): Promise<DeploymentView> {
		return waitFor(
			`deployment ${model} ${status}`,
			async () => {
				const { body } = await request(`/deployments/${model}`);
				const view = body as DeploymentView;
				return view.status === status ? view : undefined;
			},
			10_000,
		);
	}

	beforeAll(async () => {
		testNode = await startTestNode(OWNER_KEY, FAST_LOOPS_CPU_ONLY);
		({ node, api: base } = testNode);
		await request("/models", {
			method: "POST",
			body: { name: "mlp", task: "classification", framework: "onnx" },
		});
		await uploadVersion("mlp", "1.0.0", "Validated");
		await uploadVersion("mlp", "2.0.0", "Validated");
		await uploadVersion("mlp", "3.0.0", "Draft");
	});

	afterAll(() => testNode.stop());

	it("deploys a Validated version: Deployed, placed on the node, running, and serves it", async () => {
		const created = await request("/deployments", {
			method: "POST",
			body: { model: "mlp", version: "1.0.0", replicas: 1 },
		});
		expect(created.status).toBe(201);
		expect(created.headers.get("location")).toBe("/api/v1/deployments/mlp");
		expect(created.body).toMatchObject({
			model: "mlp",
			replicas: 1,
			traffic: [{ version: "1.0.0", weight: 100 }],
		});
		expect(await versionState("mlp", "1.0.0")).toBe("Deployed");

		const running = await waitForStatus("mlp", "running");
		expect(running.placements).toEqual([
			expect.objectContaining({ nodeID: node.broker.nodeID, state: "ready" }),
		]);
		// Without a deployment "latest" would be 3.0.0; the deployment's traffic decides.
		const answer = await predict("mlp");
		expect(answer.status).toBe(200);
		expect(answer.body).toMatchObject({ model_version: "1.0.0" });
		expect(answer.headers.get("x-modelfleet-node")).toBe(node.broker.nodeID);
	});

	it("refuses a second deployment of one model, and a version that is not Validated", async () => {
		const again = await request("/deployments", { method: "POST", body: { model: "mlp" } });
		expect(again).toMatchObject({ status: 409 });
		expect(again.body).toMatchObject({ type: "ALREADY_EXISTS" });

		const draft = await request("/deployments/mlp", {
			method: "PATCH",
			body: { traffic: [{ version: "3.0.0", weight: 100 }] },
		});
		expect(draft.status).toBe(409);
		expect(draft.body).toMatchObject({ type: "INVALID_TRANSITION" });
		expect((draft.body as { message: string }).message).toMatch(/from Draft/);
		expect(await versionState("mlp", "3.0.0")).toBe("Draft");
	});

	it("rejects bad traffic splits with 400 naming the problem", async () => {
		const zero = await request("/deployments/mlp", {
			method: "PATCH",
			body: { traffic: [{ version: "1.0.0", weight: 0 }] },
		});
		expect(zero.status).toBe(400);
		const twice = await request("/deployments/mlp", {
			method: "PATCH",
			body: {
				traffic: [
					{ version: "1.0.0", weight: 50 },
					{ version: "1.0.0", weight: 50 },
				],
			},
		});
		expect(twice.status).toBe(400);
		expect((twice.body as { message: string }).message).toMatch(/twice/);
	});

	it("splits traffic 90/10 over 2,000 requests, and rolls back to 100/0 in one call", async () => {
		const canary = await request("/deployments/mlp", {
			method: "PATCH",
			body: {
				traffic: [
					{ version: "1.0.0", weight: 90 },
					{ version: "2.0.0", weight: 10 },
				],
			},
		});
		expect(canary.status).toBe(200);
		expect(await versionState("mlp", "2.0.0")).toBe("Deployed");
		await waitFor(
			"the split in the routing table",
			async () => {
				const counts = await countVersions(50);
				return (counts.get("2.0.0") ?? 0) > 0 ? true : undefined;
			},
			10_000,
		);

		const counts = await countVersions(2000);
		const share = (counts.get("1.0.0") ?? 0) / 2000;
		expect(share).toBeGreaterThanOrEqual(0.85);
		expect(share).toBeLessThanOrEqual(0.95);
		expect((counts.get("1.0.0") ?? 0) + (counts.get("2.0.0") ?? 0)).toBe(2000);

		// The same routing key always sees the same version.
		const sticky = new Set<string>();
		for (let i = 0; i < 30; i++) {
			const { body } = await predict("mlp", { "x-modelfleet-routing-key": "user-42" });
			sticky.add((body as { model_version: string }).model_version);
		}
		expect(sticky.size).toBe(1);

		const rolledBack = await request("/deployments/mlp/rollback", { method: "POST", body: {} });
		expect(rolledBack.status).toBe(200);
		expect(rolledBack.body).toMatchObject({ traffic: [{ version: "1.0.0", weight: 100 }] });
		expect(await versionState("mlp", "2.0.0")).toBe("Validated");
		await waitFor(
			"all traffic back on 1.0.0",
			async () => ((await countVersions(100)).get("1.0.0") === 100 ? true : undefined),
			10_000,
		);
	});

	it("promotes the canary to all traffic", async () => {
		await request("/deployments/mlp", {
			method: "PATCH",
			body: {
				traffic: [
					{ version: "1.0.0", weight: 80 },
					{ version: "2.0.0", weight: 20 },
				],
			},
		});
		const promoted = await request("/deployments/mlp/promote", { method: "POST", body: {} });
		expect(promoted.body).toMatchObject({ traffic: [{ version: "2.0.0", weight: 100 }] });
		expect(await versionState("mlp", "1.0.0")).toBe("Validated");
		expect(await versionState("mlp", "2.0.0")).toBe("Deployed");
		await waitFor(
			"all traffic on 2.0.0",
			async () => ((await countVersions(50)).get("2.0.0") === 50 ? true : undefined),
			10_000,
		);
	});

	it("mirrors every request to a shadow version, once, without changing the answers", async () => {
		// What the node's predictor was asked to run, by version: the answered calls and the copies.
		const infer = jest.spyOn(Predictor.prototype, "infer");
		const seen = (version: string): number[] =>
			infer.mock.calls
				.filter(([, ref]) => ref.version === version)
				.map(([, , request]) => (request as typeof predictBody).inputs[0].data[0])
				.sort((a, b) => a - b);
		/** Predicts until `routed` holds of one request's calls (the routing table follows in a pass). */
		const untilRouted = (what: string, routed: () => boolean) =>
			waitFor(
				what,
				async () => {
					infer.mockClear();
					expect((await predict("mlp")).status).toBe(200);
					return routed() ? true : undefined;
				},
				10_000,
			).finally(() => infer.mockClear());
		try {
			await request("/deployments/mlp", { method: "PATCH", body: { shadow: "1.0.0" } });
			await untilRouted("requests mirrored to 1.0.0", () => seen("1.0.0").length > 0);
			// Each request has an input of its own, so each copy can be matched to its request.
			const sent = Array.from({ length: 40 }, (_, i) => 100 + i);
			const replies = await Promise.all(
				sent.map(first =>
					request("/models/mlp/predict", {
						method: "POST",
						body: { inputs: [{ ...predictBody.inputs[0], data: [first, 2, 3, 4] }] },
					}),
				),
			);
			expect(replies.map(r => (r.body as { model_version: string }).model_version)).toEqual(
				sent.map(() => "2.0.0"),
			);
			expect(seen("2.0.0")).toEqual(sent);
			// The copies are fire-and-forget: some may still be running when the answers are back.
			await waitFor(
				"the shadow version to see every request",
				() => (seen("1.0.0").length >= sent.length ? true : undefined),
				10_000,
			);
			expect(seen("1.0.0")).toEqual(sent);

			await request("/deployments/mlp", { method: "PATCH", body: { shadow: null } });
			await untilRouted("requests no longer mirrored", () => seen("1.0.0").length === 0);
			expect((await countVersions(10)).get("2.0.0")).toBe(10);
			expect(seen("2.0.0")).toHaveLength(10);
			expect(seen("1.0.0")).toEqual([]);
		} finally {
			infer.mockRestore();
		}
	});

	it("keeps a GPU deployment pending with its reason on a CPU-only node", async () => {
		await request("/models", {
			method: "POST",
			body: { name: "gpu-mlp", task: "classification", framework: "onnx" },
		});
		await uploadVersion("gpu-mlp", "1.0.0", "Validated");
		const created = await request("/deployments", {
			method: "POST",
			body: { model: "gpu-mlp", replicas: 1, resources: { gpus: 1 } },
		});
		expect(created).toMatchObject({ status: 201 });
		const pending = await waitForStatus("gpu-mlp", "pending");
		expect(pending.statusReason).toMatch(/GPU/);
		expect(pending.placements).toEqual([]);
	});

	it("undeploys: the version goes back to Validated and the model stops being pinned", async () => {
		const pinned = async () =>
			(
				await node.broker.call<{
					models: Array<{ model: string; version: string; pinned: boolean }>;
				}>("predictor.stats")
			).models
				.filter(m => m.model === "mlp" && m.pinned)
				.map(m => m.version);
		expect(await pinned()).toEqual(["2.0.0"]);
		const deleted = await request("/deployments/mlp", { method: "DELETE" });
		expect(deleted).toMatchObject({ status: 200, body: { deleted: "mlp" } });
		expect(await versionState("mlp", "2.0.0")).toBe("Validated");
		expect((await request("/deployments/mlp")).status).toBe(404);
		const list = await request("/deployments");
		expect((list.body as { items: DeploymentView[] }).items.map(d => d.model)).toEqual([
			"gpu-mlp",
		]);
		await waitFor(
			"mlp unpinned on the node",
			async () => ((await pinned()).length === 0 ? true : undefined),
			10_000,
		);
	});

	async function countVersions(n: number): Promise<Map<string, number>> {
		const counts = new Map<string, number>();
		const batch = 25;
		for (let done = 0; done < n; done += batch) {
			const replies = await Promise.all(
				Array.from({ length: Math.min(batch, n - done) }, () => predict("mlp")),
			);
			for (const reply of replies) {
				expect(reply.status).toBe(200);
				const version = (reply.body as { model_version: string }).model_version;
				counts.set(version, (counts.get(version) ?? 0) + 1);
			}
		}
		return counts;
	}
});
