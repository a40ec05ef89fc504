/**
 * Blobs in S3-compatible object storage (AWS S3, MinIO, Ceph, R2…): objects
 * `<prefix>sha256/ab/abcdef…` in one bucket, with the plaintext size and the times GC needs in
 * the object's metadata. Big blobs go up as multipart uploads, one part in memory at a time.
 */
import type { Readable } from "node:stream";
import {
	AbortMultipartUploadCommand,
	CompleteMultipartUploadCommand,
	CopyObjectCommand,
	CreateBucketCommand,
	CreateMultipartUploadCommand,
	DeleteObjectCommand,
	GetObjectCommand,
	HeadBucketCommand,
	HeadObjectCommand,
	ListObjectsV2Command,
	PutObjectCommand,
	S3Client,
	UploadPartCommand,
	type CompletedPart,
	type HeadObjectCommandOutput,
} from "@aws-sdk/client-s3";
import { NotFoundError } from "../../errors";
import {
	META,
	fileStream,
	metaNumber,
	metaOf,
	objectKey,
	type BlobBackend,
	type BlobObject,
	type BlobPutInfo,
	type StoredRange,
} from "./base";

/** S3's smallest part (all but the last) and largest part. */
export const S3_MIN_PART_BYTES = 5 * 1024 * 1024;
export const S3_MAX_PART_BYTES = 5 * 1024 ** 3;
export const S3_DEFAULT_PART_BYTES = 8 * 1024 * 1024;

export interface S3BlobBackendOptions {
	bucket: string;
	/** Key prefix, "" or ending in "/". */
	prefix: string;
	/** An S3-compatible server's URL; null: AWS. */
	endpoint: string | null;
	region: string;
	/** null: the AWS SDK's default chain (AWS_ACCESS_KEY_ID…, ~/.aws, instance roles). */
	credentials: { accessKeyId: string; secretAccessKey: string } | null;
	/** Path-style addressing (`endpoint/bucket/key`), as most S3-compatible servers want. */
	forcePathStyle: boolean;
	/** Bytes per multipart part; blobs up to this size go up in one PutObject. */
	partBytes: number;
}

export class S3BlobBackend implements BlobBackend {
	readonly kind = "s3";
	readonly remote = true;
	readonly client: S3Client;
	private readonly prefix: string;

	constructor(private readonly options: S3BlobBackendOptions) {
		this.prefix = normalizePrefix(options.prefix);
		this.client = new S3Client({
			region: options.region,
			...(options.endpoint !== null ? { endpoint: options.endpoint } : {}),
			forcePathStyle: options.forcePathStyle,
			...(options.credentials !== null ? { credentials: options.credentials } : {}),
			// Checksums only where S3 requires them: S3-compatible servers do not all know the newer ones.
			requestChecksumCalculation: "WHEN_REQUIRED",
			responseChecksumValidation: "WHEN_REQUIRED",
		});
	}

	get description(): string {
		const where = this.options.endpoint ?? `AWS ${this.options.region}`;
		return `the S3 bucket s3://${this.options.bucket}/${this.prefix} at ${where}`;
	}

	async open(): Promise<void> {
		try {
			await this.client.send(new HeadBucketCommand({ Bucket: this.options.bucket }));
		} catch (err) {
			if (!isMissing(err)) throw err;
			await this.client.send(new CreateBucketCommand({ Bucket: this.options.bucket }));
		}
	}

	async close(): Promise<void> {
		this.client.destroy();
	}

	async put(sha256: string, source: Readable, info: BlobPutInfo): Promise<void> {
		const previous = await this.head(sha256);
		const Metadata = metaOf(
			info,
			previous === null
				? info.nowMs
				: metaNumber(previous.Metadata, META.created, info.nowMs),
		);
		const Key = this.key(sha256);
		const Bucket = this.options.bucket;
		const parts = partsOf(source, this.options.partBytes);
		const first = await parts.next();
		const firstPart = first.done ? Buffer.alloc(0) : first.value;
		const second = first.done ? first : await parts.next();
		if (second.done) {
			await this.client.send(
				new PutObjectCommand({
					Bucket,
					Key,
					Body: firstPart,
					ContentLength: firstPart.length,
					Metadata,
				}),
			);
			return;
		}
		const { UploadId } = await this.client.send(
			new CreateMultipartUploadCommand({ Bucket, Key, Metadata }),
		);
		const completed: CompletedPart[] = [];
		const upload = async (body: Buffer): Promise<void> => {
			const PartNumber = completed.length + 1;
			const { ETag } = await this.client.send(
				new UploadPartCommand({
					Bucket,
					Key,
					UploadId,
					PartNumber,
					Body: body,
					ContentLength: body.length,
				}),
			);
			completed.push({ ETag, PartNumber });
		};
		try {
			await upload(firstPart);
			await upload(second.value);
			for (let next = await parts.next(); !next.done; next = await parts.next()) {
				await upload(next.value);
			}
			await this.client.send(
				new CompleteMultipartUploadCommand({
					Bucket,
					Key,
					UploadId,
					MultipartUpload: { Parts: completed },
				}),
			);
		} catch (err) {
			source.destroy();
			await this.client
				.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId }))
				.catch(() => undefined);
			throw err;
		}
	}

	putFile(sha256: string, file: string, info: BlobPutInfo): Promise<void> {
		return this.put(sha256, fileStream(file), info);
	}

	async get(sha256: string, range: StoredRange = {}): Promise<Readable> {
		const offset = range.offset ?? 0;
		const Range =
			range.length !== undefined
				? `bytes=${offset}-${offset + Math.max(range.length, 1) - 1}`
				: offset > 0
					? `bytes=${offset}-`
					: undefined;
		try {
			const { Body } = await this.client.send(
				new GetObjectCommand({ Bucket: this.options.bucket, Key: this.key(sha256), Range }),
			);
			return Body as Readable;
		} catch (err) {
			if (isMissing(err)) throw new NotFoundError("artifact", sha256);
			throw err;
		}
	}

	async stat(sha256: string): Promise<BlobObject | null> {
		const head = await this.head(sha256);
		return head === null ? null : toBlobObject(sha256, head);
	}

	async touch(sha256: string, nowMs: number): Promise<boolean> {
		const head = await this.head(sha256);
		if (head === null) return false;
		const Key = this.key(sha256);
		// Copying an object onto itself with new metadata is how S3 changes its metadata.
		await this.client.send(
			new CopyObjectCommand({
				Bucket: this.options.bucket,
				Key,
				CopySource: `${this.options.bucket}/${Key.split("/").map(encodeURIComponent).join("/")}`,
				MetadataDirective: "REPLACE",
				Metadata: { ...head.Metadata, [META.stored]: String(nowMs) },
			}),
		);
		return true;
	}

	async *list(): AsyncGenerator<BlobObject> {
		let ContinuationToken: string | undefined;
		const pattern = /sha256\/[0-9a-f]{2}\/([0-9a-f]{64})$/;
		do {
			const page = await this.client.send(
				new ListObjectsV2Command({
					Bucket: this.options.bucket,
					Prefix: `${this.prefix}sha256/`,
					ContinuationToken,
				}),
			);
			for (const object of page.Contents ?? []) {
				const sha256 = pattern.exec(object.Key ?? "")?.[1];
				if (sha256 === undefined || object.Key !== this.key(sha256)) continue;
				// The listing has no metadata: the plaintext size and times come with a HEAD.
				const blob = await this.stat(sha256);
				if (blob !== null) yield blob;
			}
			ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
		} while (ContinuationToken !== undefined);
	}

	async delete(sha256: string): Promise<void> {
		await this.client.send(
			new DeleteObjectCommand({ Bucket: this.options.bucket, Key: this.key(sha256) }),
		);
	}

	private key(sha256: string): string {
		return this.prefix + objectKey(sha256);
	}

	private async head(sha256: string): Promise<HeadObjectCommandOutput | null> {
		try {
			return await this.client.send(
				new HeadObjectCommand({ Bucket: this.options.bucket, Key: this.key(sha256) }),
			);
		} catch (err) {
			if (isMissing(err)) return null;
			throw err;
		}
	}
}

export function normalizePrefix(prefix: string): string {
	const trimmed = prefix.replace(/^\/+|\/+$/g, "");
	return trimmed === "" ? "" : trimmed + "/";
}

function isMissing(err: unknown): boolean {
	const e = err as { name?: string; $metadata?: { httpStatusCode?: number } } | null;
	return (
		e?.$metadata?.httpStatusCode === 404 ||
		e?.name === "NotFound" ||
		e?.name === "NoSuchKey" ||
		e?.name === "NoSuchBucket"
	);
}

function toBlobObject(sha256: string, head: HeadObjectCommandOutput): BlobObject {
	const modified = head.LastModified?.getTime() ?? 0;
	const storedBytes = head.ContentLength ?? 0;
	const stored = metaNumber(head.Metadata, META.stored, modified);
	return {
		sha256,
		size: metaNumber(head.Metadata, META.size, storedBytes),
		storedBytes,
		createdAtMs: metaNumber(head.Metadata, META.created, modified),
		lastStoredAtMs: stored,
	};
}

/** The source cut into buffers of `partBytes` (the last one shorter). */
async function* partsOf(source: Readable, partBytes: number): AsyncGenerator<Buffer> {
	let pending: Buffer[] = [];
	let pendingBytes = 0;
	for await (const chunk of source as AsyncIterable<Buffer>) {
		let rest = chunk;
		while (pendingBytes + rest.length >= partBytes) {
			const take = partBytes - pendingBytes;
			pending.push(rest.subarray(0, take));
			rest = rest.subarray(take);
			yield Buffer.concat(pending, partBytes);
			pending = [];
			pendingBytes = 0;
		}
		if (rest.length > 0) {
			pending.push(rest);
			pendingBytes += rest.length;
		}
	}
	if (pendingBytes > 0) yield Buffer.concat(pending, pendingBytes);
}
