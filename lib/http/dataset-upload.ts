/**
 * A dataset upload as the gateway receives it: the body is parsed and checked while it
 * streams (nothing held whole in memory) and spilled to a temporary file; only a dataset that
 * parses is stored as an artifact and recorded — a bad CSV leaves nothing behind.
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { once } from "node:events";
import type { Readable } from "node:stream";
import type { ArtifactCall } from "../artifacts/artifact-protocol";
import { uploadArtifact } from "../artifacts/artifact-upload";
import type { DatasetFormat } from "../datasets/dataset";
import { datasetReport, type DatasetReport } from "../datasets/dataset-report";
import { parseDataset } from "../datasets/parse-dataset";

export interface DatasetUploadOptions {
	format: DatasetFormat;
	labelColumn: string | null;
	maxBytes: number;
	/** Where the spill file goes; default the OS temp directory. */
	spillDir?: string;
}

export interface ReceivedDataset {
	sha256: string;
	size: number;
	format: DatasetFormat;
	labelColumn: string | null;
	rows: number;
	report: DatasetReport;
}

async function* spill(source: Readable, file: fs.WriteStream): AsyncGenerator<Uint8Array> {
	for await (const chunk of source) {
		const bytes = chunk as Uint8Array;
		if (!file.write(bytes)) await once(file, "drain");
		yield bytes;
	}
}

export async function receiveDataset(
	source: Readable,
	options: DatasetUploadOptions,
	call: ArtifactCall,
): Promise<ReceivedDataset> {
	const spillPath = path.join(options.spillDir ?? os.tmpdir(), `mf-dataset-${randomUUID()}`);
	const file = fs.createWriteStream(spillPath);
	// Listened to from the start: a write still in flight when a refused upload destroys the file
	// fails afterwards, and unheard that failure would end the process.
	let spillError: Error | null = null;
	file.on("error", (err: Error) => {
		spillError ??= err;
	});
	try {
		const dataset = await parseDataset(spill(source, file), {
			format: options.format,
			labelColumn: options.labelColumn,
			maxBytes: options.maxBytes,
		});
		file.end();
		await once(file, "finish");
		if (spillError) throw spillError;
		await uploadArtifact(call, fs.createReadStream(spillPath), {
			expectedSha256: dataset.sha256,
		});
		return {
			sha256: dataset.sha256,
			size: dataset.bytes,
			format: dataset.format,
			labelColumn: dataset.labelColumn,
			rows: dataset.rowCount,
			report: datasetReport(dataset),
		};
	} finally {
		source.resume(); // a refused upload: drain what the client still sends
		file.destroy();
		await fs.promises.rm(spillPath, { force: true });
	}
}
