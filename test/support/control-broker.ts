import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
/** An in-process broker with the control node's database services, as start-node wires them. */
import { ServiceBroker } from "moleculer";
import { createBrokerOptions } from "../../moleculer.config";
import { ArtifactLayout } from "../../lib/artifacts/artifact-layout";
import { accessMiddleware, type RequestMeta } from "../../lib/accounts/access";
import type { Database } from "../../lib/db/database";
import { loadNodeConfig } from "../../lib/config/node-config";
import { accountsService } from "../../services/accounts.service";
import { registryService } from "../../services/registry.service";

export async function startControlBroker(
	database: Database,
	dataDir: string = fs.mkdtempSync(path.join(os.tmpdir(), "mf-control-")),
): Promise<{ broker: ServiceBroker; bootstrapKey: string; dataDir: string }> {
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
	broker.createService(registryService({ database, dataDir }));
	await broker.start();
	const key = printed.map(line => line.trim()).find(line => line.startsWith("mf_"));
	if (!key) throw new Error(`no bootstrap key printed: ${printed.join("\n")}`);
	return { broker, bootstrapKey: key, dataDir };
}

/** Puts a blob where a co-located artifacts store keeps it, as an upload would; returns its sha256. */
export function storeBlob(dataDir: string, bytes: Uint8Array): string {
	const sha256 = createHash("sha256").update(bytes).digest("hex");
	const file = new ArtifactLayout(path.join(dataDir, "artifacts")).blobPath(sha256);
	fs.mkdirSync(path.dirname(file), { recursive: true });
	fs.writeFileSync(file, bytes);
	return sha256;
}

/** The meta the gateway would set for this key. */
export async function metaFor(broker: ServiceBroker, key: string): Promise<RequestMeta> {
	const identity = await broker.call<
		{ tenant: string; role: RequestMeta["role"]; keyId: string },
		{ key: string }
	>("accounts.authenticate", { key });
	return { tenant: identity.tenant, role: identity.role, keyId: identity.keyId };
}
