import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CapturePayloadFiles } from "../../../lib/monitoring/capture-files";

const DAY = Date.UTC(2026, 11, 5);
const DAY_MS = 86_400_000;

describe("capture payload files", () => {
	let dir: string;
	beforeEach(() => {
		dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "mf-capture-files-")), "captures");
	});
	afterEach(() => fs.rmSync(path.dirname(dir), { recursive: true, force: true }));

	it("appends each batch to its day's file and reads it back where it was put", () => {
		const files = new CapturePayloadFiles(dir);
		const a = files.append(DAY, Buffer.from("first batch"));
		const b = files.append(DAY, Buffer.from("second"));
		const c = files.append(DAY + DAY_MS, new Uint8Array([1, 2, 3]));
		expect([a, b, c]).toEqual([
			{ offset: 0, length: 11 },
			{ offset: 11, length: 6 },
			{ offset: 0, length: 3 },
		]);
		expect(files.read(DAY, b)?.toString()).toBe("second");
		expect([...(files.read(DAY + DAY_MS, c) ?? [])]).toEqual([1, 2, 3]);
		expect(fs.readdirSync(dir).sort()).toEqual(["20261205.mfc", "20261206.mfc"]);
		files.close();
	});

	it("appends after what another store of the process wrote (never over it)", () => {
		const one = new CapturePayloadFiles(dir);
		const two = new CapturePayloadFiles(dir);
		const a = one.append(DAY, Buffer.from("aaaa"));
		const b = two.append(DAY, Buffer.from("bb"));
		const c = one.append(DAY, Buffer.from("c"));
		expect(one.read(DAY, a)?.toString()).toBe("aaaa");
		expect(one.read(DAY, b)?.toString()).toBe("bb");
		expect(two.read(DAY, c)?.toString()).toBe("c");
		one.close();
		two.close();
	});

	it("drops the days wholly before a cutoff; a batch read after its day went is null, and a late batch of that day starts a new file", () => {
		const files = new CapturePayloadFiles(dir);
		const other = new CapturePayloadFiles(dir);
		const old = other.append(DAY - 3 * DAY_MS, Buffer.from("old"));
		files.append(DAY - DAY_MS, Buffer.from("yesterday"));
		files.append(DAY, Buffer.from("today"));
		expect(files.dropBefore(DAY)).toBe(2);
		expect(fs.readdirSync(dir)).toEqual(["20261205.mfc"]);
		expect(files.read(DAY - 3 * DAY_MS, old)).toBeNull();
		// `other` still held the dropped file open: its next batch of that day is not lost in it.
		const late = other.append(DAY - 3 * DAY_MS, Buffer.from("late"));
		expect(late).toEqual({ offset: 0, length: 4 });
		expect(files.read(DAY - 3 * DAY_MS, late)?.toString()).toBe("late");
		files.close();
		other.close();
	});

	it("reads a batch its file does not wholly hold as gone, and drops nothing before the first write", () => {
		const files = new CapturePayloadFiles(dir);
		expect(files.dropBefore(DAY)).toBe(0);
		expect(files.read(DAY, { offset: 0, length: 4 })).toBeNull();
		files.append(DAY, Buffer.from("ab"));
		expect(files.read(DAY, { offset: 0, length: 4 })).toBeNull();
		files.close();
	});

	it("reads a place its row got wrong as gone instead of allocating or reading what the row says", () => {
		const files = new CapturePayloadFiles(dir);
		files.append(DAY, Buffer.from("abcdef"));
		for (const place of [
			{ offset: 0, length: 2 ** 40 },
			{ offset: 0, length: 2 ** 53 },
			{ offset: -1, length: 2 },
			{ offset: 2, length: -1 },
			{ offset: 7, length: 0 },
			{ offset: Number.NaN, length: 1 },
			{ offset: 1.5, length: 1 },
		])
			expect(files.read(DAY, place)).toBeNull();
		expect(files.read(DAY, { offset: 6, length: 0 })?.length).toBe(0);
		expect(files.read(DAY, { offset: 2, length: 3 })?.toString()).toBe("cde");
		files.close();
	});
});
