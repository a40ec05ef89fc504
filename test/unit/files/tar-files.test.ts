import * as zlib from "node:zlib";
import { ArchiveTooLargeError, InvalidModelFileError } from "../../../lib/errors";
import { readTarFiles } from "../../../lib/files/tar-files";
import { TfjsImporter } from "../../../lib/importers/tfjs-importer";
import { tarGzBomb } from "../../support/archive-bomb";
import { packTar, temporaryFolder } from "../importers/importer-test-files";

const files = temporaryFolder();
const MiB = 1024 ** 2;

describe("readTarFiles limits", () => {
	it("reads an archive within the limits", async () => {
		const file = files.file(
			"ok.tar.gz",
			await packTar(
				[
					{ name: "./m/model.json", data: "{}" },
					{ name: "m/w.bin", data: "abcd" },
				],
				{ gzip: true },
			),
		);
		const read = await readTarFiles(file, {
			gzip: true,
			limits: { maxBytes: 6, maxEntries: 2 },
		});
		expect([...read.keys()]).toEqual(["m/model.json", "m/w.bin"]);
	});

	it("refuses more entries than maxEntries (413 naming the setting)", async () => {
		const entries = Array.from({ length: 5 }, (_, i) => ({ name: `f${i}`, data: "x" }));
		const file = files.file("many.tar", await packTar(entries));
		const refused = await readTarFiles(file, {
			gzip: false,
			limits: { maxBytes: MiB, maxEntries: 4 },
		}).catch((e: unknown) => e);
		expect(refused).toBeInstanceOf(ArchiveTooLargeError);
		expect(refused).toMatchObject({
			code: 413,
			type: "ARCHIVE_TOO_LARGE",
			data: { what: "entries", limit: 4, setting: "MODELFLEET_MAX_ARCHIVE_ENTRIES" },
		});
	});

	it("refuses a file whose header passes maxBytes before reading it, and stops decompressing", async () => {
		const file = files.file(
			"bomb.tar.gz",
			tarGzBomb(256 * MiB, [{ name: "model.json", data: "{}" }]),
		);
		const before = process.memoryUsage().arrayBuffers;
		const started = performance.now();
		const refused = await readTarFiles(file, {
			gzip: true,
			limits: { maxBytes: MiB, maxEntries: 10 },
		}).catch((e: unknown) => e);
		expect(refused).toMatchObject({
			code: 413,
			data: { what: "bytes", limit: MiB, setting: "MODELFLEET_MAX_ARCHIVE_BYTES" },
		});
		// Unpacking 256 MiB would take far longer, and hold it.
		expect(performance.now() - started).toBeLessThan(2000);
		expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * MiB);
	});

	it("counts every unpacked byte, not only the files' (zeros past the end of the archive)", async () => {
		// 64 MiB of zero blocks: no entries at all, only bytes to decompress.
		const zeros = zlib.gzipSync(Buffer.alloc(16 * MiB), { level: 9 });
		const file = files.file("zeros.tar.gz", Buffer.concat([zeros, zeros, zeros, zeros]));
		const refused = await readTarFiles(file, {
			gzip: true,
			limits: { maxBytes: MiB, maxEntries: 10 },
		}).catch((e: unknown) => e);
		expect(refused).toBeInstanceOf(ArchiveTooLargeError);
	});

	it("lets the TF.js importer answer the limit as it is (not as an invalid file)", async () => {
		const file = files.file(
			"tfjs-bomb.tar.gz",
			tarGzBomb(16 * MiB, [{ name: "model.json", data: "{}" }]),
		);
		const importer = new TfjsImporter({ maxBytes: MiB, maxEntries: 10 });
		const refused = await importer.import(file).catch((e: unknown) => e);
		expect(refused).toBeInstanceOf(ArchiveTooLargeError);
		expect(refused).not.toBeInstanceOf(InvalidModelFileError);
	});
});
