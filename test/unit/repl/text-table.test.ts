import { formatTable } from "../../../lib/repl/text-table";

describe("formatTable", () => {
	it("pads every column to its widest cell, two spaces apart, with no trailing spaces", () => {
		const lines = formatTable(
			[{ header: "NODE" }, { header: "CORES", align: "right" }, { header: "STATE" }],
			[
				["worker-gpu-1", "32", "up"],
				["w2", "4", "down (disconnected)"],
			],
		);
		expect(lines).toEqual([
			"NODE          CORES  STATE",
			"worker-gpu-1     32  up",
			"w2                4  down (disconnected)",
		]);
	});

	it("prints only the header for no rows, and empty cells for missing ones", () => {
		expect(formatTable([{ header: "A" }, { header: "B" }], [])).toEqual(["A  B"]);
		expect(formatTable([{ header: "A" }, { header: "B" }], [["x"]])).toEqual(["A  B", "x"]);
	});

	it("keeps a cell with a line break on its row", () => {
		const lines = formatTable([{ header: "REASON" }, { header: "N" }], [["two\nlines", "1"]]);
		expect(lines).toEqual(["REASON     N", "two lines  1"]);
	});
});
