import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gunzipSync } from "node:zlib";
import {
	CONSOLE_CSP,
	ConsoleAssets,
	consoleAnswer,
	readBuiltConsole,
} from "../../../lib/http/console-assets";
import type { ConsoleBundle } from "../../../lib/http/console-bundle";

const SCRIPT = "console.log('the console');\n".repeat(50);

function bundle(): ConsoleBundle {
	return {
		page: {
			name: "index.html",
			body: Buffer.from("<!DOCTYPE html><p>page</p>"),
			type: "text/html",
		},
		assets: [{ name: "main-ABC123.js", body: Buffer.from(SCRIPT), type: "text/javascript" }],
	};
}

describe("ConsoleAssets", () => {
	it("loads once and serves the page and hashed assets, 404 for any other name", async () => {
		let loads = 0;
		const assets = new ConsoleAssets(async () => {
			loads++;
			return bundle();
		});
		expect((await assets.page()).body.toString()).toContain("page");
		const script = await assets.asset("main-ABC123.js");
		expect(script.body.toString()).toBe(SCRIPT);
		expect(script.immutable).toBe(true);
		expect((await assets.page()).immutable).toBe(false);
		await expect(assets.asset("other.js")).rejects.toMatchObject({ code: 404 });
		await expect(assets.asset("")).rejects.toMatchObject({ code: 404 });
		expect(loads).toBe(1);
	});

	it("tries again after a failed load", async () => {
		let calls = 0;
		const assets = new ConsoleAssets(async () => {
			if (++calls === 1) throw new Error("syntax error in console/src");
			return bundle();
		});
		await expect(assets.page()).rejects.toThrow("syntax error");
		expect((await assets.page()).body.length).toBeGreaterThan(0);
	});
});

describe("consoleAnswer", () => {
	let assets: ConsoleAssets;
	beforeAll(() => {
		assets = new ConsoleAssets(async () => bundle());
	});

	it("caches hashed assets for a year and makes the page revalidate, under the console's policy", async () => {
		const script = consoleAnswer(await assets.asset("main-ABC123.js"), {});
		expect(script.headers["Cache-Control"]).toBe("public, max-age=31536000, immutable");
		expect(script.headers["Content-Security-Policy"]).toBe(CONSOLE_CSP);
		expect(CONSOLE_CSP).toContain("script-src 'self'");
		const page = consoleAnswer(await assets.page(), {});
		expect(page.headers["Cache-Control"]).toBe("no-cache");
		expect(page.headers.ETag).toMatch(/^"[\w-]{27}"$/);
		expect(page.headers.ETag).not.toBe(script.headers.ETag);
	});

	it("answers 304 with no body for a matching If-None-Match, 200 otherwise", async () => {
		const file = await assets.asset("main-ABC123.js");
		expect(consoleAnswer(file, { ifNoneMatch: file.etag })).toMatchObject({
			status: 304,
			body: null,
		});
		expect(consoleAnswer(file, { ifNoneMatch: `"x", W/${file.etag}` }).status).toBe(304);
		expect(consoleAnswer(file, { ifNoneMatch: '"other"' }).status).toBe(200);
	});

	it("sends gzip to clients that accept it, and not for q=0", async () => {
		const file = await assets.asset("main-ABC123.js");
		const zipped = consoleAnswer(file, { acceptEncoding: "br, gzip;q=0.8" });
		expect(zipped.headers["Content-Encoding"]).toBe("gzip");
		expect(gunzipSync(zipped.body!).toString()).toBe(SCRIPT);
		expect(
			consoleAnswer(file, { acceptEncoding: "gzip;q=0" }).headers["Content-Encoding"],
		).toBeUndefined();
		expect(consoleAnswer(file, {}).body!.toString()).toBe(SCRIPT);
	});
});

describe("readBuiltConsole", () => {
	it("reads what the build wrote, or null without a page", () => {
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mf-console-dist-"));
		expect(readBuiltConsole(dir)).toBeNull();
		fs.writeFileSync(path.join(dir, "index.html"), "<!DOCTYPE html>");
		fs.writeFileSync(path.join(dir, "main-X.css"), "body{}");
		const built = readBuiltConsole(dir)!;
		expect(built.page.type).toMatch(/^text\/html/);
		expect(built.assets).toEqual([
			{ name: "main-X.css", body: Buffer.from("body{}"), type: "text/css; charset=utf-8" },
		]);
	});
});
