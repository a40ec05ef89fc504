import { createHash, createHmac } from "node:crypto";
import {
	apiKeyFrom,
	generateApiKey,
	hashApiKey,
	isKeyedHash,
	legacyApiKeyHash,
	newKeySecret,
	visiblePrefix,
} from "../../../lib/accounts/api-key";

const SECRET = "a-test-secret-of-at-least-32-characters";
const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

describe("API keys", () => {
	it("are random, prefixed, and stored as a hash that does not contain them", () => {
		const a = generateApiKey(SECRET);
		const b = generateApiKey(SECRET);
		expect(a.key).not.toBe(b.key);
		expect(a.key).toMatch(/^mf_[A-Za-z0-9_-]{43}$/);
		expect(a.key.startsWith(a.prefix)).toBe(true);
		expect(a.hash).toBe(hashApiKey(a.key, SECRET));
		expect(a.hash).not.toContain(a.key.slice(3));
		expect(apiKeyFrom("mf_chosen", SECRET).hash).toBe(hashApiKey("mf_chosen", SECRET));
	});

	it("are hashed with HMAC-SHA-256 under the installation's secret, not a plain sha256", () => {
		const key = "mf-bootstrap-key1";
		const hash = hashApiKey(key, SECRET);
		expect(hash).toBe(`hmac-sha256:${createHmac("sha256", SECRET).update(key).digest("hex")}`);
		expect(hash).not.toContain(sha256(key));
		expect(hashApiKey(key, newKeySecret())).not.toBe(hash);
		expect(isKeyedHash(hash)).toBe(true);
	});

	it("keep the unsalted sha256 only to find keys stored before, which are not keyed", () => {
		const key = "mf_an-old-key";
		expect(legacyApiKeyHash(key)).toBe(sha256(key));
		expect(isKeyedHash(legacyApiKeyHash(key))).toBe(false);
	});

	it("show at most 8 characters, and at most a quarter of a short chosen key", () => {
		expect(generateApiKey(SECRET).prefix).toHaveLength(8);
		const chosen = apiKeyFrom("mf-bootstrap-key1", SECRET);
		expect(chosen.prefix).toBe("mf-b");
		expect(chosen.prefix.length).toBeLessThanOrEqual(17 / 4);
		expect(visiblePrefix("mf_x")).toBe("m");
		expect(visiblePrefix("abc")).toBe("");
	});

	it("secrets are 256 random bits", () => {
		expect(newKeySecret()).toMatch(/^[A-Za-z0-9_-]{43}$/);
		expect(newKeySecret()).not.toBe(newKeySecret());
	});
});
