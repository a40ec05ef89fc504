import * as os from "node:os";
/** An in-process broker with the control node's database services, as start-node wires them. */
import { ServiceBroker } from "moleculer";
import { createBrokerOptions } from "../../moleculer.config";
import { accessMiddleware, type RequestMeta } from "../../lib/accounts/access";
import type { Database } from "../../lib/db/database";
import { loadNodeConfig } from "../../lib/config/node-config";
import { accountsService } from "../../services/accounts.service";
import { registryService } from "../../services/registry.service";

export async function startControlBroker(
	database: Database,
): Promise<{ broker: ServiceBroker; bootstrapKey: string }> {
	const printed: string[] = [];
	const broker = new ServiceBroker(
		createBrokerOptions(
			loadNodeConfig("control", { LOG_LEVEL: "error", METRICS_PORT: "off" }),
			{
				middlewares: [accessMiddleware()],
			},
		),
	);
	broker.createService(
		accountsService({ database, bootstrapKey: null, print: line => printed.push(line) }),
	);
	broker.createService(registryService({ database, dataDir: os.tmpdir() }));
	await broker.start();
	const key = printed.map(line => line.trim()).find(line => line.startsWith("mf_"));
	if (!key) throw new Error(`no bootstrap key printed: ${printed.join("\n")}`);
	return { broker, bootstrapKey: key };
}

/** The meta the gateway would set for this key. */
export async function metaFor(broker: ServiceBroker, key: string): Promise<RequestMeta> {
	const identity = await broker.call<
		{ tenant: string; role: RequestMeta["role"]; keyId: string },
		{ key: string }
	>("accounts.authenticate", { key });
	return { tenant: identity.tenant, role: identity.role, keyId: identity.keyId };
}
