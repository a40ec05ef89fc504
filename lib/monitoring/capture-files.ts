/**
 * Captured payloads of an all-in-one node (PGlite) kept in files beside its database: one
 * append-only file a day (UTC), `<data dir>/captures/20261205.mfc`, holding the batches' bytes
 * back to back; the row of `prediction_captures` keeps where its batch lies (offset, length).
 * Stored in the embedded database, each batch's bytes cost PGlite (wasm, in the serving
 * process) TOAST chunks, their index entries, page checksums and as much WAL again — most of
 * what capture cost an all-in-one node; appended here they are one write. As durable as the
 * database beside them: written before their row, not fsynced (PGlite runs without fsync
 * either). Only one process opens an embedded database, and its writes here are synchronous:
 * the end of a file read just before a write is where that write lands. Retention removes a
 * day's file with its partition.
 */
import * as fs from "node:fs";
import * as path from "node:path";

const DAY_MS = 86_400_000;
const FILE = /^(\d{4})(\d{2})(\d{2})\.mfc$/;

function fileName(day: number): string {
	return `${new Date(day).toISOString().slice(0, 10).replaceAll("-", "")}.mfc`;
}

/** Where a batch's bytes lie in its day's file. */
export interface PayloadPlace {
	offset: number;
	length: number;
}

/** Whether a file of `size` bytes holds the whole of `place`. */
function holds(size: number, place: PayloadPlace): boolean {
	return (
		Number.isSafeInteger(place.offset) &&
		Number.isSafeInteger(place.length) &&
		place.offset >= 0 &&
		place.length >= 0 &&
		place.offset + place.length <= size
	);
}

export class CapturePayloadFiles {
	/** Descriptors of day files open for appending, by day start. */
	private readonly open = new Map<number, number>();

	constructor(private readonly dir: string) {}

	/** Appends a batch's bytes to its day's file (day: the start of a UTC day, ms). */
	append(day: number, bytes: Uint8Array): PayloadPlace {
		let fd = this.fileOf(day);
		// Read each time rather than kept: another store of this process (or a write that
		// failed half-way, leaving bytes no row points at) may have moved the end.
		let stat = fs.fstatSync(fd);
		if (stat.nlink === 0) {
			// Removed by retention elsewhere (a late batch of an old day): a new file.
			fs.closeSync(fd);
			this.open.delete(day);
			fd = this.fileOf(day);
			stat = fs.fstatSync(fd);
		}
		const offset = stat.size;
		let written = 0;
		while (written < bytes.byteLength)
			written += fs.writeSync(fd, bytes, written, bytes.byteLength - written);
		return { offset, length: bytes.byteLength };
	}

	/**
	 * A batch's bytes; null when its day's file is gone (retention removed it meanwhile) or
	 * does not hold the place (a row that does not match its file: read as no captures rather
	 * than as a buffer of whatever length the row says).
	 */
	read(day: number, place: PayloadPlace): Buffer | null {
		let fd: number;
		try {
			fd = fs.openSync(path.join(this.dir, fileName(day)), "r");
		} catch (err) {
			if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
			throw err;
		}
		try {
			if (!holds(fs.fstatSync(fd).size, place)) return null;
			const bytes = Buffer.allocUnsafe(place.length);
			let read = 0;
			while (read < place.length) {
				const n = fs.readSync(fd, bytes, read, place.length - read, place.offset + read);
				if (n === 0) return null;
				read += n;
			}
			return bytes;
		} finally {
			fs.closeSync(fd);
		}
	}

	/** Removes the files of the days wholly before `cutoff` (ms); answers how many. */
	dropBefore(cutoff: number): number {
		let dropped = 0;
		let names: string[];
		try {
			names = fs.readdirSync(this.dir);
		} catch (err) {
			if ((err as NodeJS.ErrnoException).code === "ENOENT") return 0;
			throw err;
		}
		for (const name of names) {
			const m = FILE.exec(name);
			if (!m) continue;
			const day = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
			if (day + DAY_MS > cutoff) continue;
			const fd = this.open.get(day);
			if (fd !== undefined) {
				fs.closeSync(fd);
				this.open.delete(day);
			}
			fs.rmSync(path.join(this.dir, name), { force: true });
			dropped++;
		}
		return dropped;
	}

	/** Closes the open files. */
	close(): void {
		for (const fd of this.open.values()) fs.closeSync(fd);
		this.open.clear();
	}

	private fileOf(day: number): number {
		let fd = this.open.get(day);
		if (fd === undefined) {
			fs.mkdirSync(this.dir, { recursive: true });
			fd = fs.openSync(path.join(this.dir, fileName(day)), "a", 0o600);
			this.open.set(day, fd);
			// Days pass: a node keeps only today's and yesterday's files open.
			for (const [known, old] of this.open)
				if (known < day - DAY_MS) {
					fs.closeSync(old);
					this.open.delete(known);
				}
		}
		return fd;
	}
}
