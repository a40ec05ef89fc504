/** The console's polling hook: an answer is shown only for the deps it was loaded for. */
import { loadedValue } from "../../../console/src/loaded";

describe("the console's loaded data", () => {
	it("is the answer for the current deps only: another model's versions are not this one's", () => {
		// The deploy form chose another model: until its versions answer, the last model's
		// versions must not be offered (the form posted one of them for the new model).
		const loaded = { value: ["1.0.0"], deps: ["other-model"] };
		expect(loadedValue(loaded, ["other-model"])).toEqual(["1.0.0"]);
		expect(loadedValue(loaded, ["iris-mlp"])).toBeUndefined();
		expect(loadedValue(loaded, ["other-model", 2])).toBeUndefined();
		expect(loadedValue(undefined, [])).toBeUndefined();
		expect(loadedValue({ value: 0, deps: [Number.NaN] }, [Number.NaN])).toBe(0);
	});
});
