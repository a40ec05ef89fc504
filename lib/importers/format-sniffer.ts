/**
 * Tells a model file's format from its first bytes (and, failing that, its name): the formats
 * modelfleet runs, the Python pickle family it refuses, and a helpful word for the rest.
 * A pure function of the bytes it is given; ./index.ts reads them.
 */
import * as zlib from "node:zlib";
import type { ModelFormat } from "../model-spec/model-schema";

/** How many leading bytes sniffing looks at (a tar header is 512). */
export const SNIFF_HEAD_BYTES = 4096;

export interface SniffInput {
	/** The file's first bytes: SNIFF_HEAD_BYTES, or the whole file when it is shorter. */
	head: Uint8Array;
	/** The file's last byte (a pickle always ends with STOP, "."). */
	lastByte?: number;
	/** The name it was uploaded under, if known. */
	fileName?: string;
}

export type SniffResult =
	| {
			kind: "model";
			format: ModelFormat;
			/** What gave it away, for messages: "a ModelProto header", "a tar header" … */
			evidence: string;
			/** Set when the model is inside a compressed stream (a .tar.gz). */
			compression?: "gzip";
	  }
	/** A pickle-based format: never loaded (UnsafeModelFormatError). */
	| { kind: "unsafe"; detected: string }
	| { kind: "unknown"; reason: string };

/** What modelfleet reads, for messages that say what else it could be. */
export const SUPPORTED_FORMATS_TEXT =
	"modelfleet reads ONNX (.onnx), TF.js (a tar of model.json and its weight files, optionally gzipped) and XGBoost JSON (Booster.save_model('model.json'))";

const PICKLE_NAME = /\.(pkl|pickle|joblib|sav|pt|pth)$/i;
/** Bytes as one character each (TextDecoder's "latin1" is really windows-1252). */
function latin1(bytes: Uint8Array): string {
	return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}

export function sniffModelFormat(input: SniffInput): SniffResult {
	return sniff(input, 0);
}

function sniff({ head, lastByte, fileName }: SniffInput, depth: number): SniffResult {
	const name = fileName ?? "";
	if (head.byteLength === 0) return { kind: "unknown", reason: "the file is empty" };

	if (head[0] === 0x80 && head[1] >= 2 && head[1] <= 5)
		return { kind: "unsafe", detected: pickleKind(name, `protocol ${head[1]}`) };
	if (looksLikeOnnx(head)) return { kind: "model", format: "onnx", evidence: "a ModelProto" };
	if (isTar(head)) return { kind: "model", format: "tfjs", evidence: "a tar archive" };

	const compressed = sniffCompressed(head, name, depth);
	if (compressed) return compressed;

	const json = sniffJson(head);
	if (json) return json;

	const archive = sniffOtherContainers(head);
	if (archive) return archive;

	if (looksLikeOldPickle(head, lastByte))
		return { kind: "unsafe", detected: pickleKind(name, "protocol 0 or 1") };

	if (PICKLE_NAME.test(name))
		return { kind: "unsafe", detected: `Python pickle (by the name '${baseName(name)}')` };
	if (/\.onnx$/i.test(name)) return { kind: "model", format: "onnx", evidence: "its name" };
	if (/\.(tar|tgz|tar\.gz)$/i.test(name))
		return { kind: "model", format: "tfjs", evidence: "its name" };

	// The bytes themselves are never quoted: a message must not tell what a file holds.
	return {
		kind: "unknown",
		reason: `its first bytes are none of the formats modelfleet reads; ${SUPPORTED_FORMATS_TEXT}.`,
	};
}

function pickleKind(name: string, protocol: string): string {
	if (/\.joblib$/i.test(name)) return `joblib (Python pickle, ${protocol})`;
	if (/\.(pt|pth)$/i.test(name)) return `PyTorch (Python pickle, ${protocol})`;
	return `Python pickle (${protocol})`;
}

function baseName(name: string): string {
	return name.split(/[\\/]/).pop() ?? name;
}

/** ONNX writers put ir_version (field 1, a small varint) first, then another ModelProto field. */
function looksLikeOnnx(head: Uint8Array): boolean {
	if (head[0] !== 0x08 || head.byteLength < 2) return false;
	const irVersion = head[1];
	if (irVersion < 1 || irVersion > 64) return false;
	if (head.byteLength === 2) return true;
	// Next tag: producer_name … graph, opset_import (field 2–8), or metadata_props (14).
	const next = head[2];
	return [0x12, 0x1a, 0x22, 0x28, 0x32, 0x3a, 0x42, 0x72].includes(next);
}

function isTar(head: Uint8Array): boolean {
	return head.byteLength >= 262 && latin1(head.subarray(257, 262)) === "ustar";
}

function sniffCompressed(head: Uint8Array, name: string, depth: number): SniffResult | undefined {
	const gzip = head[0] === 0x1f && head[1] === 0x8b;
	const zlibStream = (head[0] & 0x0f) === 8 && ((head[0] << 8) | head[1]) % 31 === 0;
	if (!gzip && !zlibStream) {
		if (latin1(head.subarray(0, 4)) === "ZF0x")
			return { kind: "unsafe", detected: "joblib (zlib-compressed Python pickle)" };
		const kind = otherCompression(head);
		if (!kind) return undefined;
		if (PICKLE_NAME.test(name))
			return { kind: "unsafe", detected: `joblib or Python pickle (${kind}-compressed)` };
		return {
			kind: "unknown",
			reason: `it is ${kind}-compressed data, which modelfleet does not unpack (compressed joblib dumps look like this, and pickles are refused anyway); ${SUPPORTED_FORMATS_TEXT}.`,
		};
	}
	if (depth > 0) return undefined;
	const inner = inflateHead(head, gzip);
	if (!inner) return undefined;
	const method = gzip ? "gzip" : "zlib";
	const result = sniff({ head: inner, fileName: name.replace(/\.(gz|z)$/i, "") }, depth + 1);
	if (result.kind === "unsafe")
		return { kind: "unsafe", detected: `joblib or Python pickle (${method}-compressed)` };
	if (result.kind === "model" && result.format === "tfjs" && gzip)
		return { kind: "model", format: "tfjs", evidence: "a gzipped tar", compression: "gzip" };
	if (result.kind === "model")
		return {
			kind: "unknown",
			reason: `it is ${method}-compressed ${result.evidence}; upload it uncompressed.`,
		};
	if (!gzip) return undefined; // a zlib header can be chance; let the other checks speak
	return {
		kind: "unknown",
		reason: `it is gzip-compressed data holding none of the formats modelfleet reads; ${SUPPORTED_FORMATS_TEXT}.`,
	};
}

/** Decompresses what the head holds of a gzip/zlib stream; undefined when it is not one. */
function inflateHead(head: Uint8Array, gzip: boolean): Uint8Array | undefined {
	const options = { finishFlush: zlib.constants.Z_SYNC_FLUSH };
	const start = head.subarray(0, 1024);
	try {
		const inner = gzip ? zlib.gunzipSync(start, options) : zlib.inflateSync(start, options);
		return inner.byteLength > 0 ? inner.subarray(0, SNIFF_HEAD_BYTES) : undefined;
	} catch {
		return undefined;
	}
}

function otherCompression(head: Uint8Array): string | undefined {
	const hex = Buffer.from(head.subarray(0, 6)).toString("hex");
	if (hex.startsWith("425a68")) return "bz2";
	if (hex === "fd377a585a00") return "xz";
	if (hex.startsWith("04224d18")) return "lz4";
	if (hex.startsWith("5d0000")) return "lzma";
	if (hex.startsWith("28b52ffd")) return "zstd";
	return undefined;
}

function sniffJson(head: Uint8Array): SniffResult | undefined {
	let i = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
	while (i < head.byteLength && [0x20, 0x09, 0x0a, 0x0d].includes(head[i])) i++;
	if (head[i] !== 0x7b /* { */) return undefined;
	const text = latin1(head.subarray(i));
	// UBJSON: "{" then a length marker (U, i, I, l, L) before the first key, not a quote.
	if (/^\{[UiIlL]/.test(text) && text.includes("learner"))
		return {
			kind: "unknown",
			reason: "it is an XGBoost model in UBJSON (.ubj), which modelfleet does not read; save it as JSON with Booster.save_model('model.json').",
		};
	if (/^\{\s*("|\})/.test(text) === false) return undefined;
	if (/"learner"\s*:/.test(text))
		return { kind: "model", format: "xgboost-json", evidence: "an XGBoost JSON document" };
	if (/"(modelTopology|weightsManifest)"\s*:/.test(text))
		return {
			kind: "unknown",
			reason: "it is a TF.js model.json on its own; upload a tar holding model.json and the weight files it names.",
		};
	return {
		kind: "unknown",
		reason: `it is a JSON document but not an XGBoost model (no "learner" object in its first ${SNIFF_HEAD_BYTES} bytes); ${SUPPORTED_FORMATS_TEXT}.`,
	};
}

function sniffOtherContainers(head: Uint8Array): SniffResult | undefined {
	const magic = latin1(head.subarray(0, 8));
	if (magic.startsWith("PK\x03\x04")) {
		const nameLength = head[26] | (head[27] << 8);
		const first = latin1(head.subarray(30, 30 + nameLength));
		if (/\.pkl$/.test(first))
			return { kind: "unsafe", detected: "PyTorch (a zip holding a Python pickle)" };
		if (/^(config|metadata)\.json$|\.keras$/.test(first))
			return {
				kind: "unknown",
				reason: "it is a Keras .keras archive; convert it to TF.js (tensorflowjs_converter) or to ONNX (tf2onnx) first.",
			};
		return {
			kind: "unknown",
			reason: "it is a zip archive; TF.js models are uploaded as a tar, not a zip.",
		};
	}
	if (magic === "\x89HDF\r\n\x1a\n")
		return {
			kind: "unknown",
			reason: "it is an HDF5 file (a Keras .h5 model?); convert it to TF.js (tensorflowjs_converter) or to ONNX (tf2onnx) first.",
		};
	return undefined;
}

/**
 * Protocol 0 and 1 pickles have no header; they start with a few telling opcodes (MARK then
 * DICT/LIST, GLOBAL "module\nname\n", EMPTY_DICT then BINPUT …) and end with STOP.
 */
const OLD_PICKLE_START = [
	/^\([dl]p\d+\n/,
	/^\([dlt]\./,
	/^\(I-?\d+\n/,
	/^\(F[-+\d.eE]+\n/,
	/^\([SV]/,
	/^\(\(/,
	/^\(?c[A-Za-z_][\w.]*\n[A-Za-z_][\w.]*\n/,
	/^[}\])](q|\(|\.)/,
];

function looksLikeOldPickle(head: Uint8Array, lastByte: number | undefined): boolean {
	if (lastByte !== undefined && lastByte !== 0x2e /* STOP */) return false;
	const start = latin1(head.subarray(0, 128));
	return OLD_PICKLE_START.some(pattern => pattern.test(start));
}
