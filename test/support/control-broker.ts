/**
 * An in-process broker with the control node's database services (accounts, registry, and the
 * artifacts store with its ownership records), as start-node wires them.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { ServiceBroker } from "moleculer";
import { createBrokerOptions } from "../../moleculer.config";
import { ArtifactOwnerStore } from "../../lib/artifacts/artifact-owners";
import type { StoredArtifact } from "../../lib/artifacts/artifact-protocol";
import { accessMiddleware, type RequestMeta } from "../../lib/accounts/access";
import type { Database } from "../../lib/db/database";
import { loadNodeConfig } from "../../lib/config/node-config";
import { accountsService, type SignedIdentity } from "../../services/accounts.service";
import { artifactsService } from "../../services/artifacts.service";
import { registryService } from "../../services/registry.service";
import { testTrust } from "./fleet-secret";

export async function startControlBroker(
	database: Database,
	dataDir: string = fs.mkdtempSync(path.join(os.tmpdir(), "mf-control-")),
): Promise<{ broker: ServiceBroker; bootstrapKey: string; dataDir: string }> {
	const printed: string[] = [];
	const trust = testTrust();
	const broker = new ServiceBroker(
		createBrokerOptions(
			loadNodeConfig("control", { LOG_LEVEL: "error", METRICS_PORT: "off" }),
			{
				middlewares: [accessMiddleware(trust)],
			},
		),
	);
	broker.createService(
		accountsService({
			database,
			bootstrapKey: null,
			print: line => printed.push(line),
			trust,
		}),
	);
	broker.createService(registryService({ database, dataDir }));
	broker.createService(
		artifactsService({
			dataDir,
			maxArtifactBytes: 64 * 1024 ** 2,
			artifactGcIntervalS: 0,
			artifactGcGraceS: 3600,
			owners: new ArtifactOwnerStore(database.db),
		}),
	);
	await broker.start();
	const key = printed.map(line => line.trim()).find(line => line.startsWith("mf_"));
	if (!key) throw new Error(`no bootstrap key printed: ${printed.join("\n")}`);
	return { broker, bootstrapKey: key, dataDir };
}

/** Uploads bytes to the artifacts store for the tenant of `meta`, as the gateway would; returns its sha256. */
export async function storeBlob(
	broker: ServiceBroker,
	bytes: Uint8Array,
	meta: RequestMeta,
): Promise<string> {
	const stored = await broker.call<StoredArtifact, Record<string, never>>(
		"artifacts.put",
		{},
		{ stream: Readable.from([Buffer.from(bytes)]), meta },
	);
	return stored.sha256;
}

/** The meta the gateway would set for this key: its identity, signed by the broker's accounts. */
export async function metaFor(broker: ServiceBroker, key: string): Promise<RequestMeta> {
	const identity = await broker.call<SignedIdentity, { key: string }>("accounts.authenticate", {
		key,
	});
	return {
		tenant: identity.tenant,
		role: identity.role,
		keyId: identity.keyId,
		identity: identity.token,
	};
}
