import { randomUUID } from "node:crypto";
import { predictionKey, predictionKeysLiteral } from "../../../lib/monitoring/prediction-key";

describe("prediction keys", () => {
	it("are the keys stored rows were written with (a change would lose every lookup of them)", () => {
		expect(predictionKey("")).toBe(3338908027751811);
		expect(predictionKey("a")).toBe(7929297801672961);
		expect(predictionKey("as-bytes")).toBe(7456922778079734);
		expect(predictionKey("7f7b6a5c-1e64-4a39-9b5e-2f6f3b1c8d20")).toBe(
			predictionKey("7f7b6a5c-1e64-4a39-9b5e-2f6f3b1c8d20"),
		);
	});

	it("are whole numbers a bigint holds exactly, apart for 100,000 random ids", () => {
		const keys = new Set<number>();
		for (let i = 0; i < 100_000; i++) {
			const key = predictionKey(randomUUID());
			expect(Number.isSafeInteger(key) && key >= 0).toBe(true);
			keys.add(key);
		}
		expect(keys.size).toBe(100_000);
		// Ids a client chose, alike but for one character, or not ASCII.
		expect(predictionKey("req-1")).not.toBe(predictionKey("req-2"));
		expect(predictionKey("é")).not.toBe(predictionKey("e"));
	});

	it("go to the database as a bigint[] literal", () => {
		expect(predictionKeysLiteral([])).toBe("{}");
		expect(predictionKeysLiteral(["a", "as-bytes"])).toBe(
			"{7929297801672961,7456922778079734}",
		);
	});
});
