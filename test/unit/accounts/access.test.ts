import { ServiceBroker, type Context } from "moleculer";
import {
	accessMiddleware,
	allowAnonymous,
	fleetInternal,
	requires,
	scopeOf,
	type RequestMeta,
} from "../../../lib/accounts/access";
import { FleetTrust } from "../../../lib/accounts/fleet-trust";
import { signIdentity } from "../../../lib/accounts/signed-identity";

const SECRET = "a-fleet-secret-of-at-least-32-characters";

interface Refusal {
	code?: number;
	type?: string;
	data?: { reason?: string };
}

/** The callee, a fleet node with the secret; the caller, a broker on the same bus without it. */
describe("accessMiddleware", () => {
	const trust = new FleetTrust(SECRET);
	const namespace = `access-${Math.random().toString(16).slice(2)}`;
	const callee = new ServiceBroker({
		namespace,
		nodeID: "callee",
		transporter: "Fake",
		logger: false,
		middlewares: [accessMiddleware(trust)],
	});
	const caller = new ServiceBroker({
		namespace,
		nodeID: "intruder",
		transporter: "Fake",
		logger: false,
	});
	const warnings: string[] = [];
	const seen: unknown[] = [];

	beforeAll(async () => {
		callee.createService({
			name: "guarded",
			actions: {
				scoped: requires("models.write", {
					handler(ctx: Context<unknown, RequestMeta>) {
						seen.push({ scope: scopeOf(ctx), meta: { ...ctx.meta } });
						return "done";
					},
				}),
				internal: {
					handler(ctx: Context<unknown, RequestMeta>) {
						return { tenant: ctx.meta.tenant ?? null };
					},
				},
				fleetOnly: fleetInternal({ handler: () => "node work" }),
				open: allowAnonymous({ handler: () => "open" }),
				/** Calls `internal` as the node itself: no identity of its own. */
				relay: allowAnonymous({
					handler(this: { broker: ServiceBroker }) {
						return this.broker.call("guarded.internal");
					},
				}),
			},
		});
		await Promise.all([callee.start(), caller.start()]);
		await caller.waitForServices(["guarded"]);
		jest.spyOn(callee.logger, "warn").mockImplementation((...args: unknown[]) => {
			warnings.push(args.join(" "));
		});
	});

	afterAll(() => Promise.all([caller.stop(), callee.stop()]));

	beforeEach(() => {
		warnings.length = 0;
		seen.length = 0;
	});

	const refusal = (meta: RequestMeta, action = "guarded.scoped"): Promise<Refusal> =>
		caller.call(action, {}, { meta }).then(
			() => ({}),
			(err: Refusal) => err,
		);

	it("refuses forged meta with no signed identity, logging the action and the caller's node", async () => {
		const err = await refusal({ tenant: "t-victim", role: "owner", keyId: null });
		expect(err).toMatchObject({
			code: 401,
			type: "UNAUTHENTICATED",
			data: { reason: "missing" },
		});
		expect(seen).toEqual([]);
		expect(warnings).toEqual([
			expect.stringMatching(/Refused guarded\.scoped called from node intruder: missing/),
		]);
	});

	it("refuses a tampered, foreign-signed or expired identity", async () => {
		const good = trust.sign({ tenant: "t-mine", role: "viewer", keyId: "k" });
		const [, signature] = good.split(".");
		const raised = Buffer.from(
			JSON.stringify({
				tenant: "t-mine",
				role: "owner",
				keyId: "k",
				exp: Date.now() + 60_000,
			}),
		).toString("base64url");
		const cases: [string, string][] = [
			[`${raised}.${signature}`, "bad-signature"],
			[
				signIdentity(
					{ tenant: "t-victim", role: "owner", exp: Date.now() + 60_000 },
					"not-the-fleet-secret-but-as-long-as-one",
				),
				"bad-signature",
			],
			[
				signIdentity({ tenant: "t-mine", role: "owner", exp: Date.now() - 60_000 }, SECRET),
				"expired",
			],
			["garbage", "malformed"],
		];
		for (const [identity, reason] of cases) {
			expect(await refusal({ tenant: "t-mine", role: "owner", identity })).toMatchObject({
				code: 401,
				data: { reason },
			});
		}
		expect(seen).toEqual([]);
		expect(warnings).toHaveLength(cases.length);
		expect(warnings.join("\n")).not.toContain(good.slice(0, 20));
	});

	it("acts for the signed identity, whatever unsigned tenant and role the meta names", async () => {
		const identity = trust.sign({ tenant: "t-mine", role: "developer", keyId: "k-1" });
		await caller.call(
			"guarded.scoped",
			{},
			{
				meta: { tenant: "t-victim", role: "owner", identity },
			},
		);
		expect(seen).toEqual([
			{
				scope: { tenantId: "t-mine", role: "developer", keyId: "k-1" },
				meta: expect.objectContaining({
					tenant: "t-mine",
					role: "developer",
					keyId: "k-1",
				}),
			},
		]);
	});

	it("answers 403 for a signed role without the permission", async () => {
		const identity = trust.sign({ tenant: "t-mine", role: "viewer", keyId: "k-1" });
		expect(await refusal({ identity })).toMatchObject({ code: 403, type: "FORBIDDEN" });
	});

	it("refuses a service identity on a tenant's action, and takes it on an internal one", async () => {
		const identity = trust.serviceToken("worker-1");
		expect(await refusal({ tenant: "t-victim", role: "owner", identity })).toMatchObject({
			code: 401,
			data: { reason: "no-tenant" },
		});
		await expect(
			caller.call("guarded.internal", {}, { meta: { tenant: "t-victim", identity } }),
		).resolves.toEqual({ tenant: null });
		expect(await refusal({}, "guarded.internal")).toMatchObject({
			data: { reason: "missing" },
		});
	});

	it("runs a fleet-internal action for a node's service identity, and refuses a key holder's (403), an owner's too", async () => {
		await expect(
			caller.call(
				"guarded.fleetOnly",
				{},
				{ meta: { identity: trust.serviceToken("control-1") } },
			),
		).resolves.toBe("node work");
		await expect(
			caller.call(
				"guarded.fleetOnly",
				{},
				{ meta: trust.actAs("t-mine", "owner", "scheduler-1") },
			),
		).resolves.toBe("node work");
		const owner = trust.sign({ tenant: "t-mine", role: "owner", keyId: "k-1" });
		expect(await refusal({ identity: owner }, "guarded.fleetOnly")).toMatchObject({
			code: 403,
			type: "FORBIDDEN",
		});
		expect(warnings.join("\n")).toMatch(/guarded\.fleetOnly.*intruder/);
	});

	it("lets anyone call anonymous actions and Moleculer's own, and signs the node's own calls", async () => {
		await expect(caller.call("guarded.open")).resolves.toBe("open");
		await expect(caller.call("$node.health", {}, { nodeID: "callee" })).resolves.toBeTruthy();
		// `relay` calls `internal` with no identity of its own: it goes out as the callee's service.
		await expect(caller.call("guarded.relay")).resolves.toEqual({ tenant: null });
		expect(warnings).toEqual([]);
	});
});
