/**
 * A dataset upload as the gateway receives it: the body is parsed and checked while it
 * streams (nothing held whole in memory) and spilled to a temporary file; only a dataset that
 * parses is stored as an artifact and recorded — a bad CSV leaves nothing behind. With
 * encryption at rest on, the spill file is sealed under a throwaway key held only in memory.
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { once } from "node:events";
import type { Readable } from "node:stream";
import type { ArtifactCall } from "../artifacts/artifact-protocol";
import { uploadArtifact } from "../artifacts/artifact-upload";
import { finishBlobTemp, readBlobFile } from "../artifacts/blob-file";
import { BlobSealer } from "../artifacts/encryption/blob-sealer";
import { MasterKey } from "../artifacts/encryption/master-key";
import type { DatasetFormat } from "../datasets/dataset";
import { datasetReport, type DatasetReport } from "../datasets/dataset-report";
import { parseDataset } from "../datasets/parse-dataset";

export interface DatasetUploadOptions {
	format: DatasetFormat;
	labelColumn: string | null;
	maxBytes: number;
	/** Where the spill file goes; default the OS temp directory. */
	spillDir?: string;
	/** Seal the spill file under a key that lives only as long as the upload. Default false. */
	sealSpill?: boolean;
}

export interface ReceivedDataset {
	sha256: string;
	size: number;
	format: DatasetFormat;
	labelColumn: string | null;
	rows: number;
	report: DatasetReport;
}

async function* spill(
	source: Readable,
	file: fs.WriteStream,
	sealer: BlobSealer | null,
): AsyncGenerator<Uint8Array> {
	for await (const chunk of source) {
		const bytes = chunk as Uint8Array;
		const out = sealer ? sealer.update(Buffer.from(bytes)) : bytes;
		if (out.length > 0 && !file.write(out)) await once(file, "drain");
		yield bytes;
	}
}

export async function receiveDataset(
	source: Readable,
	options: DatasetUploadOptions,
	call: ArtifactCall,
): Promise<ReceivedDataset> {
	const spillPath = path.join(options.spillDir ?? os.tmpdir(), `mf-dataset-${randomUUID()}`);
	const spillKey = options.sealSpill ? MasterKey.generate() : null;
	const sealer = spillKey ? new BlobSealer(spillKey) : null;
	const file = fs.createWriteStream(spillPath);
	// Listened to from the start: a write still in flight when a refused upload destroys the file
	// fails afterwards, and unheard that failure would end the process.
	let spillError: Error | null = null;
	file.on("error", (err: Error) => {
		spillError ??= err;
	});
	if (sealer) file.write(BlobSealer.placeholder);
	try {
		const dataset = await parseDataset(spill(source, file, sealer), {
			format: options.format,
			labelColumn: options.labelColumn,
			maxBytes: options.maxBytes,
		});
		file.end();
		await once(file, "finish");
		if (spillError) throw spillError;
		await finishBlobTemp(spillPath, sealer, dataset.sha256);
		const spilled = spillKey
			? await readBlobFile(spillPath, spillKey, dataset.sha256)
			: fs.createReadStream(spillPath);
		await uploadArtifact(call, spilled, {
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
