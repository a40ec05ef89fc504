/**
 * What each role needs before its health port (MODELFLEET_HEALTH_PORT) answers ready: the broker
 * started and, in a fleet, connected to NATS; the role's own services running here (a worker's
 * predictor, a control node's registry…); a control node's database answering; and on roles
 * with the gateway, the services it calls running somewhere in the fleet (or, but for the
 * predictor, seen once: named `degraded` while gone), as /health/ready says.
 */
import { sql } from "drizzle-orm";
import type { ServiceBroker } from "moleculer";
import type { Database } from "../lib/db/database";
import {
	GATEWAY_DEPENDENCIES,
	GATEWAY_ESSENTIAL,
	ROLE_SERVICES,
	servesHttp,
	type NodeRole,
} from "../lib/fleet/node-role";
import type { ReadinessCheck } from "../lib/health/readiness";

export function nodeReadinessChecks(
	role: NodeRole,
	broker: ServiceBroker,
	database: Database | null,
): ReadinessCheck[] {
	const checks: ReadinessCheck[] = [{ name: "broker", ok: () => broker.started }];
	const transit = broker.transit as { connected?: boolean } | undefined;
	if (transit) checks.push({ name: "transporter", ok: () => transit.connected === true });
	if (database) {
		checks.push({
			name: "database",
			ok: async () => {
				await database.db.execute(sql`select 1`);
				return true;
			},
		});
	}
	for (const name of ROLE_SERVICES[role]) {
		checks.push({ name, ok: () => broker.getLocalService(name) != null });
	}
	if (servesHttp(role)) {
		const local = new Set<string>(ROLE_SERVICES[role]);
		for (const name of GATEWAY_DEPENDENCIES.filter(n => !local.has(n))) {
			checks.push(fleetServiceCheck(broker, name, GATEWAY_ESSENTIAL.includes(name)));
		}
	}
	return checks;
}

/**
 * A service the gateway calls, running somewhere in the fleet. One that is not essential is
 * met once it has been seen, and named `degraded` while it is gone: the gateway serves from its
 * caches meanwhile (lib/health/readiness.ts, FallbackReadiness).
 */
function fleetServiceCheck(
	broker: ServiceBroker,
	name: string,
	essential: boolean,
): ReadinessCheck {
	const available = () =>
		broker.registry
			.getServiceList({ onlyAvailable: true, skipInternal: true })
			.some(service => service.name === name);
	let seen = false;
	// Every change of the fleet's services counts, not only those a probe happens to see.
	broker.localBus.on("$services.changed", () => {
		if (available()) seen = true;
	});
	return {
		name,
		ok: () => {
			if (available()) seen = true;
			else if (essential) return false;
			return seen;
		},
		degraded: () => !available(),
	};
}
