import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
	KEY_CHECK_FILE,
	checkEncryptionKey,
	recordedKeyId,
} from "../../../../lib/artifacts/encryption/key-check";
import { MasterKey } from "../../../../lib/artifacts/encryption/master-key";
import { InvalidConfigurationError } from "../../../../lib/errors";

describe("checkEncryptionKey", () => {
	let dataDir: string;
	const key = MasterKey.generate();

	beforeEach(() => {
		dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mf-key-check-"));
	});
	afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

	it("records the key's id (never the key) on first use and passes with it after", () => {
		checkEncryptionKey(dataDir, key);
		expect(recordedKeyId(dataDir)).toBe(key.id);
		expect(fs.readFileSync(path.join(dataDir, KEY_CHECK_FILE), "utf8")).not.toContain(
			key.toBase64(),
		);
		expect(() => checkEncryptionKey(dataDir, key)).not.toThrow();
	});

	it("passes without a key where none was ever used", () => {
		expect(() => checkEncryptionKey(dataDir, null)).not.toThrow();
		expect(recordedKeyId(dataDir)).toBeNull();
	});

	it("refuses another key, naming the setting and both key ids", () => {
		checkEncryptionKey(dataDir, key);
		const other = MasterKey.generate();
		let error: unknown;
		try {
			checkEncryptionKey(dataDir, other);
		} catch (err) {
			error = err;
		}
		expect(error).toBeInstanceOf(InvalidConfigurationError);
		expect((error as Error).message).toContain("MODELFLEET_ENCRYPTION_KEY: is the wrong key");
		expect((error as Error).message).toContain(key.id);
		expect((error as Error).message).toContain(other.id);
	});

	it("refuses to start without the key once blobs were sealed", () => {
		checkEncryptionKey(dataDir, key);
		expect(() => checkEncryptionKey(dataDir, null)).toThrow(
			/MODELFLEET_ENCRYPTION_KEY: is not set, but the artifacts .* are encrypted/,
		);
	});
});
