import { ServiceBroker, type Context, type Service } from "moleculer";
import { accessMiddleware, requires, type RequestMeta } from "../../../lib/accounts/access";
import { tenantAccessMixin, type TenantAccessMethods } from "../../../mixins/tenant-access.mixin";
import { testTrust } from "../../support/fleet-secret";

async function start(isAdmin: boolean, own?: boolean) {
	const trust = testTrust();
	const broker = new ServiceBroker({ logger: false, middlewares: [accessMiddleware(trust)] });
	broker.createService({
		name: "accounts",
		actions: { "tenants.get": () => ({ id: "t1", isAdmin }) },
	});
	broker.createService({
		name: "guarded",
		mixins: [tenantAccessMixin(own === undefined ? {} : { isAdminTenant: async () => own })],
		actions: {
			forget: requires("keys.manage", {
				async handler(ctx: Context<unknown, RequestMeta>) {
					await (this as unknown as Service & TenantAccessMethods).requireAdminTenant(
						ctx,
						"forget nodes",
					);
					return "forgotten";
				},
			}),
		},
	});
	await broker.start();
	const call = () =>
		broker.call("guarded.forget", {}, { meta: trust.actAs("t1", "owner", "test") });
	return { broker, call };
}

describe("tenantAccessMixin", () => {
	it("lets an owner of an admin tenant through, asking accounts by default", async () => {
		const { broker, call } = await start(true);
		await expect(call()).resolves.toBe("forgotten");
		await broker.stop();
	});

	it("answers 403 to another tenant's owner", async () => {
		const { broker, call } = await start(false);
		await expect(call()).rejects.toMatchObject({ code: 403 });
		await broker.stop();
	});

	it("asks the check it is given instead of accounts", async () => {
		const { broker, call } = await start(true, false);
		await expect(call()).rejects.toMatchObject({ code: 403 });
		await broker.stop();
	});
});
