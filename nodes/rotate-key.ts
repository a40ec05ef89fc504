import { Errors } from "moleculer";
import { loadNodeConfig, type Environment } from "../lib/config/node-config";
import { recordedKeyId } from "../lib/artifacts/encryption/key-check";
import { rotateBlobKeys, type RotationReport } from "../lib/artifacts/encryption/key-rotation";
import { InvalidConfigurationError } from "../lib/errors";

/**
 * `modelfleet rotate-key` — re-wraps every blob of MODELFLEET_DATA_DIR from
 * MODELFLEET_ENCRYPTION_KEY to MODELFLEET_ENCRYPTION_KEY_NEW (without the new key, seals the
 * plain blobs under the current one). Run it with the node stopped, then start the node with
 * the new key. Answers the exit status: 0 when every blob moved.
 */
export async function rotateKey(
	env: Environment,
	print: (line: string) => void = line => console.log(line),
): Promise<{ status: number; report: RotationReport }> {
	const config = loadNodeConfig("control", env);
	const from = config.encryptionKey;
	if (from === null) {
		throw new InvalidConfigurationError([
			{
				setting: "MODELFLEET_ENCRYPTION_KEY",
				problem:
					"rotate-key needs the current key (and MODELFLEET_ENCRYPTION_KEY_NEW, the key to move to)",
			},
		]);
	}
	const to = config.encryptionKeyNew ?? from;
	const recorded = recordedKeyId(config.dataDir);
	if (recorded !== null && recorded !== from.id && recorded !== to.id) {
		throw new InvalidConfigurationError([
			{
				setting: "MODELFLEET_ENCRYPTION_KEY",
				problem: `is the wrong key for ${config.dataDir}: its artifacts are encrypted under master key id ${recorded}, and this key has id ${from.id}`,
			},
		]);
	}
	print(
		to === from
			? `Sealing the plain blobs under ${config.dataDir} with master key ${from.id}…`
			: `Re-wrapping the blobs under ${config.dataDir} from master key ${from.id} to ${to.id}…`,
	);
	const report = await rotateBlobKeys(config.dataDir, from, to);
	print(
		`${report.rewrapped} re-wrapped, ${report.sealed} plain blob(s) sealed, ${report.alreadyDone} already under ${to.id}, ${report.failed.length} failed.`,
	);
	for (const failure of report.failed) print(`  failed: ${failure.file}: ${failure.reason}`);
	if (report.failed.length > 0) {
		print("The data directory still records the old key; fix the failures and run again.");
		return { status: 1, report };
	}
	if (to !== from)
		print(`Done: start the node with MODELFLEET_ENCRYPTION_KEY set to the new key.`);
	return { status: 0, report };
}

/** rotateKey as a process: prints configuration errors plainly and exits with its status. */
export async function runRotateKey(env: Environment): Promise<void> {
	try {
		const { status } = await rotateKey(env);
		process.exit(status);
	} catch (err) {
		if (err instanceof Errors.MoleculerError && err.type === "INVALID_CONFIGURATION") {
			console.error(err.message);
		} else {
			console.error("rotate-key failed:", err);
		}
		process.exit(1);
	}
}
