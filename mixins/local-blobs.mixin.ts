/**
 * Local blobs (lib/artifacts/local-blobs.ts) for a service that reads stored files by path or
 * stream: made at `created` (before the service's own `created`, which may use it), opened at
 * `started`, its decrypted copies deleted at `stopped` (after the service's own `stopped`).
 */
import type { ServiceSchema } from "moleculer";
import type { ArtifactCall } from "../lib/artifacts/artifact-protocol";
import { LocalBlobs, type LocalBlobsOptions } from "../lib/artifacts/local-blobs";

export interface LocalBlobsMixinOptions {
	/** The node's data directory: a co-located artifacts store's blobs, and the download cache. */
	dataDir: string;
	/** Encryption at rest of the blobs this node reads. Default none. */
	blobs?: LocalBlobsOptions;
}

/** What the mixin adds to the service: `this.blobs`, set from `created` on. */
export interface LocalBlobsService {
	blobs: LocalBlobs;
}

export function localBlobsMixin(options: LocalBlobsMixinOptions): Partial<ServiceSchema> {
	return {
		created() {
			const call: ArtifactCall = (action, params, callOptions) =>
				this.broker.call(action, params, callOptions);
			(this as unknown as LocalBlobsService).blobs = new LocalBlobs(
				options.dataDir,
				call,
				options.blobs,
			);
		},
		async started() {
			await (this as unknown as LocalBlobsService).blobs.open();
		},
		async stopped() {
			await (this as unknown as LocalBlobsService).blobs.close();
		},
	};
}
