/**
 * Archive bombs for the limit tests: a .tar.gz whose one big file is all zeros, made of gzip
 * members repeated (gunzip reads concatenated members as one stream), so a 1.5 GiB file costs
 * about 1.5 MB and a few milliseconds to make.
 */
import * as zlib from "node:zlib";

const BLOCK = 512;

/** A ustar header of a regular file. */
export function tarHeader(name: string, size: number): Buffer {
	const header = Buffer.alloc(BLOCK);
	const field = (text: string, at: number, length: number) =>
		header.write(text.slice(0, length), at, length, "latin1");
	const octal = (value: number, length: number) =>
		value.toString(8).padStart(length - 1, "0") + "\0";
	field(name, 0, 100);
	field(octal(0o644, 8), 100, 8);
	field(octal(0, 8), 108, 8);
	field(octal(0, 8), 116, 8);
	field(octal(size, 12), 124, 12);
	field(octal(0, 12), 136, 12);
	field("        ", 148, 8);
	field("0", 156, 1);
	field("ustar\0", 257, 6);
	field("00", 263, 2);
	let sum = 0;
	for (const byte of header) sum += byte;
	field(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8);
	return header;
}

/**
 * A gzipped tar: `small` files first (model.json and the like), then `bigName` with `bigBytes`
 * zeros (a multiple of 16 MiB or of 1 MiB below that).
 */
export function tarGzBomb(
	bigBytes: number,
	small: Array<{ name: string; data: string }> = [],
	bigName = "weights.bin",
): Buffer {
	const members: Buffer[] = [];
	for (const file of small) {
		const data = Buffer.from(file.data);
		const padding = Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK);
		members.push(
			zlib.gzipSync(Buffer.concat([tarHeader(file.name, data.length), data, padding])),
		);
	}
	members.push(zlib.gzipSync(tarHeader(bigName, bigBytes)));
	const piece = bigBytes >= 16 * 1024 ** 2 ? 16 * 1024 ** 2 : 1024 ** 2;
	if (bigBytes % piece !== 0) throw new Error(`${bigBytes} is not a multiple of ${piece}`);
	const zeros = zlib.gzipSync(Buffer.alloc(piece), { level: 9 });
	for (let i = 0; i < bigBytes / piece; i++) members.push(zeros);
	members.push(zlib.gzipSync(Buffer.alloc(2 * BLOCK)));
	return Buffer.concat(members);
}
