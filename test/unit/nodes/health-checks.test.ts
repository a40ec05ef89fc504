/**
 * The health port's readiness on a gateway: the control plane's services may go once seen (the
 * gateway serves from its caches, naming them degraded); the predictor may not.
 */
import { ServiceBroker } from "moleculer";
import { runReadinessChecks } from "../../../lib/health/readiness";
import { GATEWAY_DEPENDENCIES } from "../../../lib/fleet/node-role";
import { nodeReadinessChecks } from "../../../nodes/health-checks";

describe("nodeReadinessChecks on a gateway", () => {
	let broker: ServiceBroker;

	beforeEach(async () => {
		broker = new ServiceBroker({ logger: false });
		// The gateway role's own services, which its checks find locally.
		for (const name of ["agent", "api"]) broker.createService({ name });
		await broker.start();
	});

	afterEach(() => broker.stop());

	async function startAll(names: readonly string[]) {
		for (const name of names) broker.createService({ name });
		await broker.waitForServices([...names]);
	}

	async function stop(name: string) {
		const service = broker.getLocalService(name);
		if (service) await broker.destroyService(service);
	}

	it("is not ready before it has met the services it calls", async () => {
		const checks = nodeReadinessChecks("gateway", broker, null);
		const readiness = await runReadinessChecks(checks, 100);
		expect(readiness.ready).toBe(false);
		expect(readiness.missing).toEqual([...GATEWAY_DEPENDENCIES]);
	});

	it("stays ready, naming them degraded, when control services go after they were seen", async () => {
		const checks = nodeReadinessChecks("gateway", broker, null);
		await startAll(GATEWAY_DEPENDENCIES);
		// No probe ran while they were up: the fleet's service changes are what it saw.
		for (const name of ["accounts", "registry", "artifacts", "scheduler"]) await stop(name);
		expect(await runReadinessChecks(checks, 100)).toEqual({
			ready: true,
			missing: [],
			degraded: ["accounts", "registry", "artifacts", "scheduler"],
		});
	});

	it("is not ready without a predictor, even one it has seen", async () => {
		const checks = nodeReadinessChecks("gateway", broker, null);
		await startAll(GATEWAY_DEPENDENCIES);
		await stop("predictor");
		const readiness = await runReadinessChecks(checks, 100);
		expect(readiness.ready).toBe(false);
		expect(readiness.missing).toEqual(["predictor"]);
	});
});
