import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { removeStaleTemplates } from "../../support/pglite-template";

describe("PGlite test templates", () => {
	it("removes other code's templates older than a day, keeping its own, recent ones and those being built", () => {
		const root = fs.mkdtempSync(path.join(os.tmpdir(), "mf-template-test-"));
		try {
			const name = (hash: string) => `modelfleet-pglite-template-${hash}`;
			const keep = path.join(root, name("0000000000000000"));
			const old = path.join(root, name("1111111111111111"));
			const recent = path.join(root, name("2222222222222222"));
			const building = path.join(root, `${name("3333333333333333")}.123-abcd1234`);
			const other = path.join(root, "something-else");
			for (const dir of [keep, old, recent, building, other]) {
				fs.mkdirSync(path.join(dir, "db"), { recursive: true });
				fs.writeFileSync(path.join(dir, "db", "PG_VERSION"), "17");
			}
			const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
			for (const dir of [keep, old, building, other])
				fs.utimesSync(dir, twoDaysAgo, twoDaysAgo);

			expect(removeStaleTemplates(keep)).toEqual([path.basename(old)]);
			expect(fs.readdirSync(root).sort()).toEqual(
				[keep, recent, building, other].map(d => path.basename(d)).sort(),
			);
		} finally {
			fs.rmSync(root, { recursive: true, force: true });
		}
	});
});
