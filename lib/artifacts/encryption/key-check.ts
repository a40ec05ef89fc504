/**
 * The start-up check of the master key: a small record in the data directory names the id of
 * the key its blobs are sealed under. A node that starts with another key, or with none, would
 * fail on every blob later; it refuses to start instead, naming the setting. The record holds
 * only the key's id (a keyed hash), never the key.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { InvalidConfigurationError } from "../../errors";
import type { MasterKey } from "./master-key";

export const KEY_CHECK_FILE = "encryption-key.json";

interface KeyCheckRecord {
	version: 1;
	keyId: string;
	updatedAt: string;
}

/** The key id the data directory's blobs are sealed under, or null when none is recorded. */
export function recordedKeyId(dataDir: string): string | null {
	let text: string;
	try {
		text = fs.readFileSync(path.join(dataDir, KEY_CHECK_FILE), "utf8");
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
		throw err;
	}
	const record = JSON.parse(text) as Partial<KeyCheckRecord>;
	return typeof record.keyId === "string" ? record.keyId : null;
}

/** Records (atomically) that the data directory's blobs are sealed under `key`. */
export function recordKey(dataDir: string, key: MasterKey): void {
	const file = path.join(dataDir, KEY_CHECK_FILE);
	const temp = `${file}.${process.pid}.part`;
	const record: KeyCheckRecord = {
		version: 1,
		keyId: key.id,
		updatedAt: new Date().toISOString(),
	};
	fs.writeFileSync(temp, JSON.stringify(record, null, "\t") + "\n", { mode: 0o600 });
	fs.renameSync(temp, file);
}

/**
 * Passes when `key` is the one the data directory's blobs are sealed under (recording it on
 * first use); an InvalidConfigurationError naming MODELFLEET_ENCRYPTION_KEY otherwise.
 */
export function checkEncryptionKey(dataDir: string, key: MasterKey | null): void {
	const recorded = recordedKeyId(dataDir);
	if (recorded === null) {
		if (key !== null) recordKey(dataDir, key);
		return;
	}
	if (key === null) {
		throw new InvalidConfigurationError([
			{
				setting: "MODELFLEET_ENCRYPTION_KEY",
				problem: `is not set, but the artifacts under ${dataDir} are encrypted under master key id ${recorded}; set the key they were encrypted with (or MODELFLEET_ENCRYPTION_KEY_FILE)`,
			},
		]);
	}
	if (key.id !== recorded) {
		throw new InvalidConfigurationError([
			{
				setting: "MODELFLEET_ENCRYPTION_KEY",
				problem: `is the wrong key for ${dataDir}: its artifacts are encrypted under master key id ${recorded}, and this key has id ${key.id} (after \`modelfleet rotate-key\`, use the new key)`,
			},
		]);
	}
}
