import { decodeRunCursor, encodeRunCursor, runSortOf } from "../../../lib/scheduler/run-order";

describe("run order", () => {
	it("reads sort and order: creation or a metric, newest or largest first by default", () => {
		expect(runSortOf({})).toEqual({ name: "createdAt", metric: null, direction: "desc" });
		expect(runSortOf({ sort: "createdAt", order: "asc" })).toEqual({
			name: "createdAt",
			metric: null,
			direction: "asc",
		});
		expect(runSortOf({ sort: "metric:val_accuracy" })).toEqual({
			name: "metric:val_accuracy",
			metric: "val_accuracy",
			direction: "desc",
		});
		for (const sort of ["val_accuracy", "metric:", "metric:a b", "metric:a'", "name"])
			expect(() => runSortOf({ sort })).toThrow(/createdAt or metric:<name>/);
	});

	it("gives back the position a cursor was made from, for the same sort and order only", () => {
		const metric = runSortOf({ sort: "metric:loss", order: "asc" });
		for (const value of [0.1 + 0.2, -3, 1e-300, 5e300, 0, null])
			expect(decodeRunCursor(encodeRunCursor(metric, { value, seq: 42 }), metric)).toEqual({
				value,
				seq: 42,
			});
		const created = runSortOf({});
		expect(decodeRunCursor(encodeRunCursor(created, { value: null, seq: 7 }), created)).toEqual(
			{ value: null, seq: 7 },
		);
		expect(decodeRunCursor(undefined, created)).toBeUndefined();
		const cursor = encodeRunCursor(metric, { value: 0.5, seq: 1 });
		for (const other of [
			created,
			runSortOf({ sort: "metric:loss" }),
			runSortOf({ sort: "metric:acc" }),
		])
			expect(() => decodeRunCursor(cursor, other)).toThrow(/cursor/);
	});
});
