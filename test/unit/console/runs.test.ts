/** The console's drawing of studies and runs: trial curves, overlaid runs, selection and tags. */
import {
	differs,
	epochMetricNames,
	paramsText,
	parseTags,
	runCurves,
	toggled,
	trialCurves,
	type Run,
} from "../../../console/src/runs";

function run(id: string, study: Run["study"], epochs: Array<[number, number]>): Run {
	return {
		id,
		model: "m",
		state: "completed",
		study,
		tags: [],
		params: {},
		metrics: {},
		epochs: epochs.map(([epoch, value]) => ({
			epoch,
			metrics: { val_accuracy: value, loss: 1 - value },
		})),
	};
}

describe("the console's runs helpers", () => {
	it("joins a trial's ASHA segments into one line and leaves stopped trials short", () => {
		const study = (trial: number, rung: number) => ({ id: "s", trial, rung });
		const curves = trialCurves(
			[
				run("a1", study(0, 1), [
					[2, 0.6],
					[3, 0.7],
				]),
				run("a0", study(0, 0), [[1, 0.5]]),
				run("b0", study(1, 0), [[1, 0.4]]),
				run("register", study(0, -1), [[3, 0.9]]),
				run("lone", null, [[1, 0.1]]),
			],
			"val_accuracy",
		);
		expect(curves).toEqual({
			x: [1, 2, 3],
			series: [
				{ label: "trial 0", values: [0.5, 0.6, 0.7] },
				{ label: "trial 1", values: [0.4, null, null] },
			],
		});
	});

	it("lets a higher rung's epoch win over a lower one's (a resumed segment repeats it)", () => {
		const curves = trialCurves(
			[
				run("r1", { id: "s", trial: 2, rung: 1 }, [[2, 0.9]]),
				run("r0", { id: "s", trial: 2, rung: 0 }, [
					[1, 0.5],
					[2, 0.6],
				]),
			],
			"val_accuracy",
		);
		expect(curves.series[0].values).toEqual([0.5, 0.9]);
	});

	it("overlays runs by a metric, with gaps where a run has no such epoch", () => {
		const curves = runCurves(
			[
				run("x", null, [
					[1, 0.2],
					[2, 0.4],
				]),
				run("y", null, [[1, 0.3]]),
			],
			"loss",
			r => r.id,
		);
		expect(curves.x).toEqual([1, 2]);
		expect(curves.series.map(s => s.label)).toEqual(["x", "y"]);
		expect(curves.series[0].values[0]).toBeCloseTo(0.8);
		expect(curves.series[1].values[1]).toBeNull();
		expect(epochMetricNames([run("x", null, [[1, 0.2]])])).toEqual(["val_accuracy", "loss"]);
	});

	it("toggles the selection in the order runs were chosen", () => {
		expect(toggled([], "a")).toEqual(["a"]);
		expect(toggled(["a"], "b")).toEqual(["a", "b"]);
		expect(toggled(["a", "b"], "a")).toEqual(["b"]);
	});

	it("reads tags typed as text and tells differing parameters by value", () => {
		expect(parseTags(" keep, best ,, keep ")).toEqual(["keep", "best"]);
		expect(parseTags("")).toEqual([]);
		expect(differs([0.01, 0.01])).toBe(false);
		expect(differs([{ a: 1 }, { a: 1 }])).toBe(false);
		expect(differs([0.01, 0.1])).toBe(true);
		expect(differs([1, null])).toBe(true);
		expect(paramsText({ learningRate: 0.012345, optimizer: "adam", units: 32 })).toBe(
			"learningRate=0.0123, optimizer=adam, units=32",
		);
	});
});
