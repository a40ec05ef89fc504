import type { ServiceBroker } from "moleculer";
import { fleetViewOf } from "../../../lib/routing/fleet-view";
import { trafficKindOf, trafficMiddleware } from "../../../lib/routing/traffic-middleware";

type Call = (
	action: string,
	params?: unknown,
	opts?: { meta?: unknown; parentCtx?: { meta: unknown } },
) => Promise<unknown>;

/** The traffic kinds the predictor would count for `n` calls of a split deployment. */
async function kinds(
	traffic: Array<{ version: string; weight: number }>,
	shadow: string | null,
	n: number,
	parentMeta?: Record<string, unknown>,
): Promise<Record<string, Record<string, number>>> {
	const broker = {} as ServiceBroker;
	fleetViewOf(broker).setTable({
		deployments: [
			{ deploymentId: "d", tenant: "t", model: "mlp", traffic, shadow, replicas: ["w"] },
		],
	});
	const middleware = trafficMiddleware("predictor.infer") as unknown as {
		created(b: ServiceBroker): void;
		call(next: Call): Call;
	};
	middleware.created(broker);
	const seen: Record<string, Record<string, number>> = {};
	const next: Call = (_action, params, opts) => {
		const version = (params as { version: string }).version;
		// As Moleculer makes the called context's meta: the parent's, then the call's own.
		const kind = trafficKindOf({
			...(opts?.parentCtx?.meta as object),
			...(opts?.meta as object),
		});
		seen[version] ??= {};
		seen[version][kind] = (seen[version][kind] ?? 0) + 1;
		return Promise.resolve({});
	};
	const call = middleware.call(next);
	for (let i = 0; i < n; i++)
		await call(
			"predictor.infer",
			{ model: "mlp", parameters: { routing_key: `k${i}` } },
			{
				meta: { tenant: "t" },
				...(parentMeta ? { parentCtx: { meta: parentMeta } } : {}),
			},
		);
	return seen;
}

describe("the traffic kind of a prediction call", () => {
	it("is live for the deployment's main version, canary for the others of its split", async () => {
		const seen = await kinds(
			[
				{ version: "1.0.0", weight: 80 },
				{ version: "2.0.0", weight: 20 },
			],
			null,
			200,
		);
		expect(Object.keys(seen["1.0.0"])).toEqual(["live"]);
		expect(Object.keys(seen["2.0.0"])).toEqual(["canary"]);
		expect(seen["1.0.0"].live + seen["2.0.0"].canary).toBe(200);
	});

	it("is shadow for the mirrored copy, live for the answered call", async () => {
		const seen = await kinds([{ version: "2.0.0", weight: 100 }], "1.0.0", 10);
		expect(seen).toEqual({ "2.0.0": { live: 10 }, "1.0.0": { shadow: 10 } });
	});

	it("is the call's own, never a flag its parent context picked up from an earlier answer", async () => {
		// Moleculer merges an answered call's meta into the caller's: after a mirrored call the
		// parent holds shadow (and canary) flags.
		const leaked = { tenant: "t", shadow: true, canary: true };
		const seen = await kinds([{ version: "2.0.0", weight: 100 }], "1.0.0", 10, leaked);
		expect(seen).toEqual({ "2.0.0": { live: 10 }, "1.0.0": { shadow: 10 } });
	});

	it("is live for a call without routing meta", () => {
		expect(trafficKindOf(undefined)).toBe("live");
		expect(trafficKindOf({ tenant: "t" })).toBe("live");
	});
});
