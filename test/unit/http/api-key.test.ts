import { apiKeyFromHeaders } from "../../../lib/http/api-key-header";
import { TtlCache } from "../../../lib/cache/ttl-cache";

describe("apiKeyFromHeaders", () => {
	it.each([
		[{ authorization: "Bearer mf_abc" }, "mf_abc"],
		[{ authorization: "bearer   mf_abc " }, "mf_abc"],
		[{ "x-api-key": "mf_xyz" }, "mf_xyz"],
		[{ authorization: "Basic dXNlcjpwYXNz", "x-api-key": "mf_xyz" }, "mf_xyz"],
		[{ authorization: "Basic dXNlcjpwYXNz" }, null],
		[{}, null],
	])("reads %j as %p", (headers, key) => {
		expect(apiKeyFromHeaders(headers)).toBe(key);
	});
});

describe("TtlCache", () => {
	it("forgets entries after their time and drops the oldest when full", () => {
		let now = 0;
		const cache = new TtlCache<number>(100, 2, () => now);
		cache.set("a", 1);
		cache.set("b", 2);
		cache.set("c", 3);
		expect([cache.get("a"), cache.get("b"), cache.get("c")]).toEqual([undefined, 2, 3]);
		now = 100;
		expect(cache.get("b")).toBeUndefined();
		expect(cache.size).toBe(1);
	});
});
