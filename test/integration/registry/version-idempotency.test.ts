/**
 * Idempotent version creation (lib/model-spec/version-idempotency.ts), on PGlite and on the real
 * PostgreSQL server: a create sent again with its key makes no second version, also when the
 * two race; another request with the key is 409; another key is another version. Then the job
 * path: a training job's registration whose answer is lost (the control node stored the version
 * and was killed before answering) is sent again and makes one version, and a job completed
 * again on another attempt completes with the version the first registered.
 */
import { Readable } from "node:stream";
import { eq } from "drizzle-orm";
import { Errors, type ServiceBroker } from "moleculer";
import type { RequestMeta, Scope } from "../../../lib/accounts/access";
import { listAudit } from "../../../lib/audit/audit-log";
import { modelVersions } from "../../../lib/db/schema";
import { ModelStore } from "../../../lib/registry/model-store";
import { idempotencyOf, jobVersionKey } from "../../../lib/model-spec/version-idempotency";
import { VersionStore, type VersionInput } from "../../../lib/registry/version-store";
import { runJob, type JobRunnerPorts, type TrainingJobRun } from "../../../lib/training/job-runner";
import { deliver, unanswered } from "../../../lib/training/report-delivery";
import type { runTrainingJob, TrainingOutcome } from "../../../lib/training/training-run";
import { describeOnEachEngine } from "../../support/databases";
import { metaFor, startControlBroker, storeBlob } from "../../support/control-broker";

const SCHEMA = {
	inputs: [{ name: "x", datatype: "FP32", shape: [-1, 2] }],
	outputs: [{ name: "y", datatype: "FP32", shape: [-1, 2] }],
} as VersionInput["schema"];
const DATASET_CSV = "x1,x2,label\n1,2,a\n2,1,b\n";

/** What a create asks for, with `key` as its idempotency key. */
function keyed(key: string | undefined, request: Omit<VersionInput, "idempotency">): VersionInput {
	return { ...request, idempotency: idempotencyOf("versions.create", key, { ...request }) };
}

describeOnEachEngine("idempotent version creation", database => {
	let broker: ServiceBroker;
	let owner: RequestMeta;
	let scope: Scope;
	let versions: VersionStore;
	let artifacts: { sha256: string; size: number }[];
	const created: string[] = [];

	const versionsOf = async (model: string) =>
		(await versions.list(scope, model, { limit: 100 })).items;

	beforeAll(async () => {
		const started = await startControlBroker(database());
		broker = started.broker;
		owner = await metaFor(broker, started.bootstrapKey);
		scope = { tenantId: owner.tenant!, role: "owner", keyId: owner.keyId ?? null };
		versions = new VersionStore(database().db);
		const models = new ModelStore(database().db);
		for (const name of ["keyed", "racing", "other", "trained"])
			await models.create(scope, { name, task: "classification", framework: "onnx" });
		artifacts = [];
		for (const text of ["model one", "model two"]) {
			const bytes = Buffer.from(text);
			artifacts.push({ sha256: await storeBlob(broker, bytes, owner), size: bytes.length });
		}
		// Who hears of each new version: a replay must announce nothing.
		broker.createService({
			name: "version-listener",
			events: {
				"version.created"(ctx: { params: { model: string; version: string } }) {
					created.push(`${ctx.params.model}@${ctx.params.version}`);
				},
			},
		});
		await broker.waitForServices(["version-listener"]);
	}, 60_000);

	afterAll(async () => {
		await broker?.stop();
	});

	it("answers the version a key made when the same request comes again, and makes one", async () => {
		const request = { bump: "minor", format: "onnx", schema: SCHEMA, artifact: artifacts[0] };
		const first = await versions.createOrReplay(
			scope,
			"keyed",
			keyed("upload-1", request as VersionInput),
		);
		const again = await versions.createOrReplay(
			scope,
			"keyed",
			keyed("upload-1", request as VersionInput),
		);
		expect(first.replayed).toBe(false);
		expect(again).toEqual({ version: first.version, replayed: true });
		expect(again.version).toMatchObject({ version: "0.1.0", artifact: artifacts[0] });
		expect((await versionsOf("keyed")).map(v => v.version)).toEqual(["0.1.0"]);
	});

	it("refuses the key with another request (409 naming its version), and makes another version for another key", async () => {
		const request = { bump: "minor", format: "onnx", schema: SCHEMA } as VersionInput;
		await expect(
			versions.create(
				scope,
				"keyed",
				keyed("upload-1", { ...request, artifact: artifacts[1] }),
			),
		).rejects.toMatchObject({
			code: 409,
			type: "IDEMPOTENCY_CONFLICT",
			data: { key: "upload-1", model: "keyed", version: "0.1.0" },
		});
		const other = await versions.create(
			scope,
			"keyed",
			keyed("upload-2", { ...request, artifact: artifacts[1] }),
		);
		expect(other).toMatchObject({ version: "0.2.0", artifact: artifacts[1] });
		// Without a key, every create is a new version, as before.
		await versions.create(scope, "keyed", keyed(undefined, request));
		await versions.create(scope, "keyed", keyed(undefined, request));
		expect((await versionsOf("keyed")).map(v => v.version)).toEqual([
			"0.4.0",
			"0.3.0",
			"0.2.0",
			"0.1.0",
		]);
	});

	it("makes one version when creates with one key race, beside keyless ones taking numbers", async () => {
		const request = {
			bump: "patch",
			format: "onnx",
			schema: SCHEMA,
			artifact: artifacts[0],
		} as VersionInput;
		const outcomes = await Promise.all([
			...Array.from({ length: 6 }, () =>
				versions.createOrReplay(scope, "racing", keyed("race-1", request)),
			),
			versions.createOrReplay(scope, "racing", keyed(undefined, request)),
			versions.createOrReplay(scope, "racing", keyed(undefined, request)),
		]);
		const keyedOnes = outcomes.slice(0, 6);
		expect(new Set(keyedOnes.map(o => o.version.id)).size).toBe(1);
		expect(keyedOnes.filter(o => !o.replayed)).toHaveLength(1);
		const rows = await database()
			.db.select({ key: modelVersions.idempotencyKey })
			.from(modelVersions);
		expect(rows.filter(r => r.key === "race-1")).toHaveLength(1);
		expect(await versionsOf("racing")).toHaveLength(3);

		// With an exact version the losers are refused for the number, not retried: the key's.
		const exact = { ...request, bump: undefined, version: "2.0.0" } as VersionInput;
		const exactly = await Promise.all(
			Array.from({ length: 4 }, () =>
				versions.createOrReplay(scope, "racing", keyed("race-2", exact)),
			),
		);
		expect(new Set(exactly.map(o => o.version.id)).size).toBe(1);
		expect(exactly.filter(o => o.replayed)).toHaveLength(3);
		expect(await versionsOf("racing")).toHaveLength(4);
	});

	it("scopes a key to its model: the same key on another model is that model's own", async () => {
		const request = { version: "1.0.0", format: "onnx", schema: SCHEMA } as VersionInput;
		const one = await versions.create(scope, "other", keyed("upload-1", request));
		expect(one.model).toBe("other");
		expect(await versionsOf("other")).toHaveLength(1);
	});

	it("over the bus: a repeat passes a full quota and announces nothing, a conflict is audited, the key's form is checked", async () => {
		const call = (params: Record<string, unknown>) =>
			broker.call("registry.versions.create", params, { meta: owner });
		const params = {
			model: "other",
			bump: "minor",
			format: "onnx",
			schema: SCHEMA,
			artifact: artifacts[0],
			idempotencyKey: "bus-1",
		};
		const before = created.length;
		const first = (await call(params)) as { id: string; version: string };
		// A tenant at its versions quota: a repeat adds nothing, so it is answered; a new key is not.
		const total = (await database().db.select().from(modelVersions)).length;
		const setQuota = (versions: number | null) =>
			broker.call("accounts.quotas.set", { id: scope.tenantId, versions }, { meta: owner });
		await setQuota(total);
		try {
			const again = (await call(params)) as { id: string; version: string };
			expect(again.id).toBe(first.id);
			await expect(call({ ...params, idempotencyKey: "bus-2" })).rejects.toMatchObject({
				code: 403,
				type: "RESOURCE_LIMIT_EXCEEDED",
			});
		} finally {
			await setQuota(null);
		}
		await expect(call({ ...params, artifact: artifacts[1] })).rejects.toMatchObject({
			code: 409,
			type: "IDEMPOTENCY_CONFLICT",
			data: { version: first.version },
		});
		// Imported from a stored file with the same key: another request, so 409 too.
		await expect(
			broker.call(
				"registry.versions.import",
				{ model: "other", artifact: artifacts[0].sha256, idempotencyKey: "bus-1" },
				{ meta: owner },
			),
		).rejects.toMatchObject({ code: 409, type: "IDEMPOTENCY_CONFLICT" });
		await expect(call({ ...params, idempotencyKey: "x".repeat(256) })).rejects.toMatchObject({
			code: 422,
		});
		// Null, as for every optional field, is no key: a version of its own.
		const keyless = (await call({ ...params, idempotencyKey: null })) as { id: string };
		expect(keyless.id).not.toBe(first.id);
		const audit = await listAudit(database().db, scope.tenantId, {
			limit: 10,
			target: "version:other@minor",
		});
		expect(audit.items.map(i => i.outcome)).toEqual([
			"IDEMPOTENCY_CONFLICT",
			"RESOURCE_LIMIT_EXCEEDED",
		]);
		await new Promise(resolve => setTimeout(resolve, 200));
		expect(created.slice(before)).toHaveLength(2);
		expect(created.slice(before)[0]).toBe(`other@${first.version}`);
	});

	describe("the job path", () => {
		const JOB: TrainingJobRun = {
			jobId: "00000000-0000-4000-8000-0000000000aa",
			model: "trained",
			spec: {},
			dataset: { ref: "d@1", sha256: "", format: "csv", labelColumn: "label" },
			checkpoint: null,
		};

		/** A trained model of `onnx` bytes (another attempt trains other bytes). */
		function training(onnx: string): typeof runTrainingJob {
			return async () =>
				({
					split: { train: 1, validation: 0, test: 1 },
					state: "Validated",
					version: {
						schema: SCHEMA,
						pipeline: { pre: [], post: [] },
						labels: ["a", "b"],
						metrics: [{ name: "accuracy", value: 1 }],
						lineage: { trainingJob: JOB.jobId, seed: 1 },
					},
					onnx: Buffer.from(onnx),
					tfjs: null,
					training: {
						bestEpoch: 1,
						epochs: 1,
						stoppedEarly: false,
						backend: { name: "wasm", device: "cpu" },
					},
				}) as unknown as TrainingOutcome;
		}

		/**
		 * The trainer's ports on this broker (services/trainer.service.ts wires the same), with a
		 * registry whose first `lose` answers are lost after the version was stored.
		 */
		function ports(lose: number) {
			const completed: unknown[] = [];
			const warnings: string[] = [];
			let calls = 0;
			const jobPorts: JobRunnerPorts<RequestMeta> = {
				identity: () => owner,
				readBlob: async () => Readable.from([DATASET_CSV]),
				storeArtifact: async (bytes, identity) => ({
					sha256: await storeBlob(broker, bytes, identity()),
					size: bytes.length,
				}),
				registerVersion: async (version, meta) => {
					const answer = await broker.call<{ version: string }, typeof version>(
						"registry.versions.create",
						version,
						{ meta },
					);
					if (++calls <= lose)
						throw new Errors.RequestTimeoutError({
							action: "registry.versions.create",
							nodeID: "control",
						});
					return answer;
				},
				emit: async (event, payload) => {
					if (event === "completed") completed.push(payload);
				},
				metrics: { device: () => undefined, epoch: () => undefined, finished: () => {} },
				isFinal: err => err instanceof Errors.MoleculerClientError,
				untilDelivered: (send, idempotent) =>
					deliver(send, {
						retryable: idempotent ? unanswered : () => false,
						backoff: { firstMs: 1, maxMs: 5 },
					}),
				warn: message => warnings.push(message),
			};
			return { jobPorts, completed, warnings, calls: () => calls };
		}

		/** Runs the job's `attempt` on a trainer that trains `weights`, through `trainer`'s ports. */
		function attempt(n: number, trainer: ReturnType<typeof ports>, weights: string) {
			return runJob(
				{ ...JOB, attempt: n },
				scope.tenantId,
				{ signal: new AbortController().signal, epoch: 0 },
				trainer.jobPorts,
				{ nodeID: `worker-${n}`, train: training(weights) },
			);
		}

		it("sends a registration whose answer was lost again, and makes one version", async () => {
			const p = ports(2);
			await attempt(1, p, "weights of attempt 1");
			expect(p.calls()).toBe(3);
			expect(p.completed).toEqual([expect.objectContaining({ version: "0.1.0" })]);
			const [only, ...more] = await versionsOf("trained");
			expect(more).toEqual([]);
			expect(only).toMatchObject({ version: "0.1.0", state: "Validated" });
			const [row] = await database()
				.db.select({ key: modelVersions.idempotencyKey })
				.from(modelVersions)
				.where(eq(modelVersions.id, only.id));
			expect(row.key).toBe(jobVersionKey(JOB.jobId));
		});

		it("completes the job run again with the version it registered: the same model, or another attempt's", async () => {
			const same = ports(0);
			await attempt(1, same, "weights of attempt 1");
			expect(same.completed).toEqual([expect.objectContaining({ version: "0.1.0" })]);
			expect(same.warnings).toEqual([]);

			const next = ports(0);
			await attempt(2, next, "weights of attempt 2");
			expect(next.completed).toEqual([
				expect.objectContaining({ version: "0.1.0", attempt: 2 }),
			]);
			expect(next.warnings).toEqual([
				expect.stringContaining("an earlier attempt registered its version 0.1.0"),
			]);
			expect((await versionsOf("trained")).map(v => v.version)).toEqual(["0.1.0"]);
		});
	});
});
