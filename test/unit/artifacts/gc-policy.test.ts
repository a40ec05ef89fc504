import { decideGarbage, type StoredBlob } from "../../../lib/artifacts/gc-policy";

const HOUR = 3600_000;
const NOW = 1_000 * HOUR;
const hash = (digit: string): string => digit.repeat(64);

function blob(digit: string, ageMs: number): StoredBlob {
	return { sha256: hash(digit), size: 10, lastStoredAtMs: NOW - ageMs };
}

describe("decideGarbage", () => {
	it.each<[string, StoredBlob, string[], "remove" | "referenced" | "within-grace"]>([
		["an unreferenced blob older than the grace period", blob("a", 2 * HOUR), [], "remove"],
		["a referenced old blob", blob("a", 100 * HOUR), [hash("a")], "referenced"],
		["a referenced young blob", blob("a", 1), [hash("a")], "referenced"],
		["an unreferenced blob just stored", blob("a", 0), [], "within-grace"],
		["an unreferenced blob exactly at the grace period", blob("a", HOUR), [], "within-grace"],
		["an unreferenced blob one ms past the grace period", blob("a", HOUR + 1), [], "remove"],
		["a blob stamped in the future (clock stepped back)", blob("a", -HOUR), [], "within-grace"],
		[
			"a blob referenced in upper case with a sha256: prefix",
			blob("a", 2 * HOUR),
			["sha256:" + hash("A")],
			"referenced",
		],
		[
			"an old blob when only other hashes are referenced",
			blob("a", 2 * HOUR),
			[hash("b")],
			"remove",
		],
		[
			"an old blob when the references hold junk",
			blob("a", 2 * HOUR),
			["", "not-a-hash", hash("a").slice(1)],
			"remove",
		],
	])("%s", (_case, stored, referenced, expected) => {
		const decision = decideGarbage({
			blobs: [stored],
			referenced,
			nowMs: NOW,
			graceMs: HOUR,
		});
		if (expected === "remove") {
			expect(decision.remove).toEqual([stored]);
			expect(decision.keep).toEqual([]);
		} else {
			expect(decision.remove).toEqual([]);
			expect(decision.keep).toEqual([{ blob: stored, reason: expected }]);
		}
	});

	it("with a grace period of 0 removes every unreferenced blob stored before now", () => {
		const decision = decideGarbage({
			blobs: [blob("a", 1), blob("b", 0), blob("c", 5)],
			referenced: [hash("c")],
			nowMs: NOW,
			graceMs: 0,
		});
		expect(decision.remove.map(b => b.sha256)).toEqual([hash("a")]);
		expect(decision.keep.map(k => [k.blob.sha256, k.reason])).toEqual([
			[hash("b"), "within-grace"],
			[hash("c"), "referenced"],
		]);
	});

	it("accepts references as any iterable, read once", () => {
		function* references(): Generator<string> {
			yield hash("a");
		}
		const decision = decideGarbage({
			blobs: [blob("a", 2 * HOUR), blob("b", 2 * HOUR)],
			referenced: references(),
			nowMs: NOW,
			graceMs: HOUR,
		});
		expect(decision.remove.map(b => b.sha256)).toEqual([hash("b")]);
	});

	it("decides nothing for an empty store", () => {
		expect(decideGarbage({ blobs: [], referenced: [], nowMs: NOW, graceMs: HOUR })).toEqual({
			remove: [],
			keep: [],
		});
	});
});
