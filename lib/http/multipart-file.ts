/**
 * Uploads sent as `multipart/form-data` (a browser form, `curl -F file=@model.onnx`) reach the
 * same upload actions as raw bodies: this finds the first file part in the streamed body and
 * hands it on as a stream, with the form fields that came before it (send fields first).
 * Nothing is buffered beyond what busboy holds for one part.
 */
import { PassThrough, type Readable } from "node:stream";
import { Busboy, type BusboyInstance } from "@fastify/busboy";
import { InvalidInputError, InvalidTextError } from "../errors";
import { textProblem } from "../json-policy";

export interface MultipartFile {
	file: Readable;
	filename: string;
	/** Form fields before the file part. */
	fields: Record<string, string>;
}

export function isMultipart(contentType: string | undefined): boolean {
	return typeof contentType === "string" && /^multipart\/form-data\s*;/i.test(contentType);
}

/**
 * The file part's stream, whose failure (the body ends before the part does: "Part terminated
 * early") is the client's, a 400, not the plain Error busboy gives.
 */
function clientErrorsOf(file: Readable): Readable {
	const out = new PassThrough();
	file.on("error", (err: Error) =>
		out.destroy(new InvalidInputError(`Unreadable multipart body: ${err.message}.`)),
	);
	// The reader may not listen yet when the body ends early: the error waits in `out.errored`
	// for it (streams and iterators report it), instead of ending the process unheard.
	out.on("error", () => undefined);
	return file.pipe(out);
}

/**
 * Drains a file part nobody reads. A part the body ends inside of fails later ("Part terminated
 * early"): with no listener, that error would end the process.
 */
function discard(file: Readable): void {
	file.on("error", () => undefined);
	file.resume();
}

export function firstFilePart(body: Readable, contentType: string): Promise<MultipartFile> {
	return new Promise((resolve, reject) => {
		let parser: BusboyInstance;
		try {
			parser = new Busboy({ headers: { "content-type": contentType }, limits: { files: 1 } });
		} catch (err) {
			reject(new InvalidInputError(`Unreadable multipart body: ${(err as Error).message}.`));
			return;
		}
		const fields: Record<string, string> = {};
		let found = false;
		parser.on("field", (name: string, value: string) => {
			if (!found) fields[name] = value;
		});
		parser.on("file", (_field: string, file: Readable, filename: string) => {
			if (found) {
				discard(file);
				return;
			}
			found = true;
			const problem =
				textProblem(filename) ??
				Object.values(fields)
					.map(textProblem)
					.find(p => p !== null) ??
				null;
			if (problem !== null) {
				discard(file);
				reject(new InvalidTextError("The multipart form's file name or fields", problem));
				return;
			}
			resolve({ file: clientErrorsOf(file), filename, fields });
		});
		parser.on("error", (err: Error) => {
			if (!found) reject(new InvalidInputError(`Unreadable multipart body: ${err.message}.`));
		});
		parser.on("finish", () => {
			if (!found) {
				reject(
					new InvalidInputError(
						"The multipart form has no file part: send the file as a form field of type file (curl -F file=@model.onnx).",
					),
				);
			}
		});
		body.pipe(parser);
	});
}
