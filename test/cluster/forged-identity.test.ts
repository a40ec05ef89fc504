/**
 * Issue 14, "identity the callee verifies", over the real NATS server: a gateway, a control node
 * (PostgreSQL) and a worker share MODELFLEET_FLEET_SECRET; a plain broker joins the same
 * namespace without it and calls the victim tenant's actions with forged meta (its tenant, role
 * owner), then with a signed identity it changed and with one that expired. Every call is refused
 * 401 and logged by the node that refused it, and nothing changes; the gateway path with a real
 * key still works end to end.
 */
import { randomUUID } from "node:crypto";
import { ServiceBroker } from "moleculer";
import type { RequestMeta } from "../../lib/accounts/access";
import { signIdentity } from "../../lib/accounts/signed-identity";
import { registerRoutingStrategies } from "../../lib/routing/model-replica-strategy";
import type { SignedIdentity } from "../../services/accounts.service";
import { createPostgresDatabase } from "../support/databases";
import { describeWithServices, serviceUrl } from "../support/external-services";
import { TEST_FLEET_SECRET } from "../support/fleet-secret";
import { FAST_LOOPS, FleetProcesses } from "../support/fleet-processes";
import { freePort } from "../support/node-process";
import { apiClient, type TestReply } from "../support/test-node";
import { waitFor } from "../support/wait";
import { writeMlpModel } from "../unit/onnx/example-models";

const OWNER_KEY = `mf_forged-test-${randomUUID()}`;
const INTRUDER = `intruder-${randomUUID().slice(0, 6)}`;
const INPUTS = { inputs: [{ name: "x", datatype: "FP32", shape: [1, 4], data: [1, 2, 3, 4] }] };

interface Refusal {
	code?: number;
	type?: string;
	data?: { reason?: string };
}

describeWithServices(["nats", "postgres"], "a broker on the bus without the fleet secret", () => {
	const cluster = new FleetProcesses("forged-test", FAST_LOOPS);
	let base: string;
	let database: { url: string; drop(): Promise<void> };
	let intruder: ServiceBroker;
	let victim: (path: string, init?: { method?: string; body?: unknown }) => Promise<TestReply>;
	let victimId: string;
	let attackerKey: string;

	async function upload(key: string, model: string): Promise<void> {
		const response = await fetch(
			`${base}/models/${model}/versions/upload?version=1.0.0&fileName=m.onnx&state=Validated`,
			{
				method: "POST",
				headers: {
					authorization: `Bearer ${key}`,
					"content-type": "application/octet-stream",
				},
				body: writeMlpModel(),
			},
		);
		expect(response.status).toBe(201);
	}

	/** The four calls of the issue, each with `meta`; what each answered. */
	async function attack(meta: RequestMeta): Promise<Record<string, Refusal | "ok">> {
		const calls: [string, Record<string, unknown>][] = [
			["registry.models.list", {}],
			["registry.models.delete", { name: "secret" }],
			["predictor.infer", { model: "secret", ...INPUTS }],
			["scheduler.deployments.create", { model: "spare", replicas: 1 }],
		];
		const outcomes: Record<string, Refusal | "ok"> = {};
		for (const [action, params] of calls) {
			outcomes[action] = await intruder.call(action, params, { meta }).then(
				() => "ok" as const,
				(err: Refusal) => ({ code: err.code, type: err.type, data: err.data }),
			);
		}
		return outcomes;
	}

	const refusedAll = (reason: string) => {
		const refusal = { code: 401, type: "UNAUTHENTICATED", data: { reason } };
		return {
			"registry.models.list": refusal,
			"registry.models.delete": refusal,
			"predictor.infer": refusal,
			"scheduler.deployments.create": refusal,
		};
	};

	/** Nothing the attacks could have changed did: the model, its versions, no second deployment. */
	async function expectNothingChanged(): Promise<void> {
		expect((await victim("/models/secret")).status).toBe(200);
		expect((await victim("/models/spare")).status).toBe(200);
		expect((await victim("/deployments/spare")).status).toBe(404);
		const list = (await victim("/deployments")).body as { items: { model: string }[] };
		expect(list.items.map(d => d.model)).toEqual(["secret"]);
	}

	beforeAll(async () => {
		database = await createPostgresDatabase();
		const port = await freePort();
		base = `http://127.0.0.1:${port}/api/v1`;
		cluster.start("gateway", "gateway", { HOST: "127.0.0.1", PORT: String(port) });
		cluster.start("control", "control", {
			DATABASE_URL: database.url,
			MODELFLEET_BOOTSTRAP_KEY: OWNER_KEY,
		});
		cluster.start("worker", "worker", {
			MODELFLEET_CPUS: "2",
			MODELFLEET_MEMORY: "4GiB",
			MODELFLEET_GPUS: "none",
		});
		const admin = apiClient(base, OWNER_KEY);
		await waitFor(
			"the fleet to be ready",
			async () =>
				(await fetch(`${base.replace("/api/v1", "")}/health/ready`)).status === 200
					? true
					: undefined,
			60_000,
			300,
		).catch(cluster.failWithLogs);

		const created = await admin("/tenants", { method: "POST", body: { name: "victim" } });
		expect(created.status).toBe(201);
		const body = created.body as { tenant: { id: string }; ownerKey: { key: string } };
		victimId = body.tenant.id;
		victim = apiClient(base, body.ownerKey.key);
		const attacker = await admin("/tenants", { method: "POST", body: { name: "attacker" } });
		attackerKey = (attacker.body as { ownerKey: { key: string } }).ownerKey.key;

		for (const model of ["secret", "spare"]) {
			const made = await victim("/models", {
				method: "POST",
				body: { name: model, task: "classification", framework: "onnx" },
			});
			expect(made.status).toBe(201);
			await upload(body.ownerKey.key, model);
		}
		expect(
			(
				await victim("/deployments", {
					method: "POST",
					body: { model: "secret", replicas: 1 },
				})
			).status,
		).toBe(201);
		await waitFor(
			"a ready replica of the victim's model",
			async () => {
				const view = (await victim("/deployments/secret")).body as {
					readyReplicas: number;
				};
				return view.readyReplicas === 1 ? true : undefined;
			},
			60_000,
			300,
		).catch(cluster.failWithLogs);

		registerRoutingStrategies();
		intruder = new ServiceBroker({
			namespace: cluster.namespace,
			nodeID: INTRUDER,
			transporter: { type: "NATS", options: { servers: [serviceUrl("nats")] } },
			serializer: "CBOR",
			heartbeatInterval: 1,
			heartbeatTimeout: 3,
			logger: false,
		});
		await intruder.start();
		await intruder.waitForServices(["registry", "predictor", "scheduler", "accounts"], 20_000);
	}, 150_000);

	afterAll(async () => {
		await intruder?.stop();
		await cluster.killAll();
		await database?.drop();
	});

	it("serves the victim through the gateway with its key", async () => {
		const predicted = await victim("/models/secret/predict", { method: "POST", body: INPUTS });
		expect(predicted.status).toBe(200);
		const models = (await victim("/models")).body as { items: { name: string }[] };
		expect(models.items.map(m => m.name).sort()).toEqual(["secret", "spare"]);
	});

	it("refuses every call with forged meta, changes nothing, and logs each refusal where it happened", async () => {
		const outcomes = await attack({ tenant: victimId, role: "owner", keyId: null });
		expect(outcomes).toEqual(refusedAll("missing"));
		await expectNothingChanged();
		const refused = (node: string, action: string) =>
			waitFor(
				`${node}'s log of the refused ${action}`,
				() =>
					cluster
						.get(node)
						.log.includes(`Refused ${action} called from node ${INTRUDER}: missing`) ||
					undefined,
				5_000,
			).catch(cluster.failWithLogs);
		await refused("control", "registry.models.list");
		await refused("control", "registry.models.delete");
		await refused("control", "scheduler.deployments.create");
		await refused("worker", "predictor.infer");
	});

	it("refuses a signed identity with a field changed, and one that expired", async () => {
		// The attacker's own key gets a genuine identity (anyone may authenticate a key they hold).
		const own = await intruder.call<SignedIdentity, { key: string }>("accounts.authenticate", {
			key: attackerKey,
		});
		const [claims, signature] = own.token.split(".");
		const decoded = JSON.parse(Buffer.from(claims, "base64url").toString("utf8")) as object;
		expect(decoded).toMatchObject({ tenant: own.tenant, role: "owner" });
		const tampered = `${Buffer.from(JSON.stringify({ ...decoded, tenant: victimId })).toString("base64url")}.${signature}`;
		expect(
			await attack({ tenant: victimId, role: "owner", keyId: null, identity: tampered }),
		).toEqual(refusedAll("bad-signature"));

		// A genuine identity of the victim's owner, captured long ago.
		const expired = signIdentity(
			{ tenant: victimId, role: "owner", keyId: null, exp: Date.now() - 10 * 60_000 },
			TEST_FLEET_SECRET,
		);
		expect(
			await attack({ tenant: victimId, role: "owner", keyId: null, identity: expired }),
		).toEqual(refusedAll("expired"));
		await expectNothingChanged();

		// The genuine one acts only for the attacker's own tenant, whatever the meta says.
		const listed = await intruder.call<{ items: unknown[] }, Record<string, never>>(
			"registry.models.list",
			{},
			{ meta: { tenant: victimId, role: "owner", identity: own.token } },
		);
		expect(listed.items).toEqual([]);
	});
});
