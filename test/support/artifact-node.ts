/**
 * A control node for the artifacts cluster tests, until the node roles run the artifacts
 * service: a broker configured from the environment as every node is, with that service.
 * Prints "ARTIFACT-NODE READY" once started; on SIGTERM prints its peak RSS growth since then
 * ("ARTIFACT-NODE MEMORY {json}") and stops.
 */
import { ServiceBroker } from "moleculer";
import { createBrokerOptions } from "../../moleculer.config";
import { loadNodeConfig } from "../../lib/config/node-config";
import { artifactsService } from "../../services/artifacts.service";
import { RssSampler } from "./artifact-memory";

const config = loadNodeConfig("control", process.env);
const broker = new ServiceBroker(createBrokerOptions(config));
broker.createService(
	artifactsService({
		dataDir: config.dataDir,
		maxArtifactBytes: config.maxArtifactBytes,
		artifactGcIntervalS: config.artifactGcIntervalS,
		artifactGcGraceS: config.artifactGcGraceS,
	}),
);
const memory = new RssSampler();

broker.start().then(
	() => {
		memory.reset();
		console.log("ARTIFACT-NODE READY");
	},
	(err: unknown) => {
		console.error("ARTIFACT-NODE FAILED", err);
		process.exit(1);
	},
);

process.on("SIGTERM", () => {
	console.log(`ARTIFACT-NODE MEMORY ${JSON.stringify(memory.figures())}`);
	void broker.stop().then(() => process.exit(0));
});
