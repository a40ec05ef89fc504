import { uncaughtDuring } from "../../support/uncaught";
import { Readable } from "node:stream";
import { firstFilePart } from "../../../lib/http/multipart-file";

const TYPE = "multipart/form-data; boundary=XX";
const part = (filename: string, content: string) =>
	`--XX\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\n\r\n${content}`;

describe("firstFilePart", () => {
	it("hands on the file part and the fields before it", async () => {
		const body = Readable.from([
			`--XX\r\nContent-Disposition: form-data; name="version"\r\n\r\n1.0.0\r\n${part("m.onnx", "abc")}\r\n--XX--\r\n`,
		]);
		const file = await firstFilePart(body, TYPE);
		expect(file.filename).toBe("m.onnx");
		expect(file.fields).toEqual({ version: "1.0.0" });
		const chunks: Buffer[] = [];
		for await (const chunk of file.file) chunks.push(chunk as Buffer);
		expect(Buffer.concat(chunks).toString()).toBe("abc");
	});

	it("answers 400 for a body that ends inside the file part", async () => {
		const file = await firstFilePart(Readable.from([part("x.onnx", "abc")]), TYPE);
		const read = async () => {
			for await (const _ of file.file) void _;
		};
		await expect(read()).rejects.toMatchObject({ code: 400, type: "INVALID_INPUT" });
	});

	it("refuses a NUL file name with 400, and the truncated part it leaves unread does not end the process", async () => {
		let refusal: unknown;
		const uncaught = await uncaughtDuring(() =>
			firstFilePart(Readable.from([part("a\u0000b", "abc")]), TYPE).catch(err => {
				refusal = err;
			}),
		);
		expect(refusal).toMatchObject({ code: 400, type: "INVALID_TEXT" });
		expect(uncaught).toEqual([]);
	});

	it("drains a second, truncated file part without an unhandled error", async () => {
		const body = `${part("a.onnx", "abc")}\r\n${part("b.onnx", "def")}`;
		const uncaught = await uncaughtDuring(async () => {
			const file = await firstFilePart(Readable.from([body]), TYPE);
			for await (const _ of file.file) void _;
		});
		expect(uncaught).toEqual([]);
	});
});
