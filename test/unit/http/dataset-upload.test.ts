import { uncaughtDuring } from "../../support/uncaught";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { receiveDataset } from "../../../lib/http/dataset-upload";

describe("receiveDataset", () => {
	const spillDir = fs.mkdtempSync(path.join(os.tmpdir(), "mf-spill-test-"));
	afterAll(() => fs.rmSync(spillDir, { recursive: true, force: true }));

	it("refuses a bad CSV while spill writes are in flight, leaving no spill file and nothing unhandled", async () => {
		const good = `a,b\n${"1,2\n".repeat(20_000)}`;
		for (let round = 0; round < 3; round++) {
			let refusal: unknown;
			const uncaught = await uncaughtDuring(() =>
				receiveDataset(
					Readable.from([
						Buffer.from(good),
						Buffer.from(good.slice(4)),
						Buffer.from("1,2,3\n"),
					]),
					{ format: "csv", labelColumn: null, maxBytes: 1e9, spillDir },
					() => Promise.reject(new Error("nothing is stored")),
				).catch(err => {
					refusal = err;
				}),
			);
			expect(refusal).toMatchObject({ code: 400 });
			expect(uncaught).toEqual([]);
			expect(fs.readdirSync(spillDir)).toEqual([]);
		}
	});
});
