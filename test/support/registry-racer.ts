import * as os from "node:os";
/**
 * One of several processes racing on the same PostgreSQL database: opens it as a control node
 * does, waits for a shared start time, then makes its calls all at once and prints the outcomes.
 * Env: DATABASE_URL, RACE_META (JSON), RACE_CALLS (JSON [[action, params], …]), RACE_START_AT (epoch ms).
 */
import { ServiceBroker } from "moleculer";
import { createBrokerOptions } from "../../moleculer.config";
import { accessMiddleware } from "../../lib/accounts/access";
import { loadNodeConfig } from "../../lib/config/node-config";
import { openDatabase } from "../../lib/db/database";
import { registryService } from "../../services/registry.service";
import { testTrust } from "./fleet-secret";

async function main(): Promise<void> {
	const database = await openDatabase({
		databaseUrl: process.env.DATABASE_URL ?? null,
		dataDir: "/tmp",
	});
	const broker = new ServiceBroker(
		createBrokerOptions(
			loadNodeConfig("control", { LOG_LEVEL: "error", METRICS_PORT: "off" }),
			{
				middlewares: [accessMiddleware(testTrust())],
			},
		),
	);
	broker.createService(registryService({ database, dataDir: os.tmpdir() }));
	await broker.start();
	const meta = JSON.parse(process.env.RACE_META ?? "{}");
	const calls = JSON.parse(process.env.RACE_CALLS ?? "[]") as [string, Record<string, unknown>][];
	await new Promise(resolve =>
		setTimeout(resolve, Math.max(0, Number(process.env.RACE_START_AT) - Date.now())),
	);
	const outcomes = await Promise.all(
		calls.map(([action, params]) =>
			broker.call(action, params, { meta }).then(
				result => ({ ok: true, result }),
				(err: { code?: number; type?: string; message?: string }) => ({
					ok: false,
					code: err.code,
					type: err.type,
					message: err.message,
				}),
			),
		),
	);
	console.log("RACE-RESULT " + JSON.stringify(outcomes));
	await broker.stop();
	await database.close();
}

main().catch(err => {
	console.error(err);
	process.exit(1);
});
