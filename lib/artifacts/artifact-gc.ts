/**
 * One garbage collection run of a node's store: asks who references what, lets the pure
 * decision (gc-policy.ts) pick, deletes. Without a trustworthy list of references it deletes
 * nothing: a blob wrongly kept costs disk, a blob wrongly deleted loses a model.
 */
import type { GcReport } from "./artifact-protocol";
import type { ArtifactStore } from "./artifact-store";

/** The hashes that versions, datasets and checkpoints refer to (the registry answers it). */
export type ReferencedArtifacts = () => Promise<Iterable<string>>;

export interface GcLogger {
	info(...args: unknown[]): void;
	warn(...args: unknown[]): void;
}

export class ArtifactCollector {
	private tail: Promise<unknown> = Promise.resolve();

	constructor(
		private readonly store: ArtifactStore,
		private readonly referenced: ReferencedArtifacts | undefined,
		private readonly logger: GcLogger,
		/** Runs just before each blob is deleted (its owners are forgotten there). */
		private readonly beforeDelete?: (sha256: string) => Promise<void>,
	) {}

	/**
	 * Runs one collection; runs asked for while one is going wait for it to finish. `fence`, when
	 * given, runs before each deletion and stops the run by rejecting (the leader's lease lapsed).
	 */
	run(options: { dryRun?: boolean; fence?: () => Promise<void> } = {}): Promise<GcReport> {
		const next = this.tail.then(() => this.once(options.dryRun ?? false, options.fence));
		this.tail = next.catch(() => undefined);
		return next;
	}

	private async once(dryRun: boolean, fence?: () => Promise<void>): Promise<GcReport> {
		if (!this.referenced) {
			return this.skip(dryRun, "no provider of referenced artifacts is configured");
		}
		let referenced: Iterable<string>;
		try {
			referenced = await this.referenced();
		} catch (err) {
			return this.skip(
				dryRun,
				`the referenced artifacts could not be read: ${(err as Error)?.message ?? String(err)}`,
			);
		}
		const before = this.beforeDelete;
		const report = await this.store.collectGarbage(referenced, {
			dryRun,
			beforeDelete:
				fence === undefined
					? before
					: async sha256 => {
							await fence();
							await before?.(sha256);
						},
		});
		if (report.deleted.length > 0) {
			this.logger.info(
				`Artifact GC ${dryRun ? "would delete" : "deleted"} ${report.deleted.length} unreferenced blob(s), ${report.freedBytes} bytes; kept ${report.kept.referenced} referenced, ${report.kept.withinGrace} within the grace period.`,
			);
		}
		return report;
	}

	private skip(dryRun: boolean, reason: string): GcReport {
		this.logger.warn(`Artifact GC skipped, nothing deleted: ${reason}.`);
		return {
			skipped: reason,
			dryRun,
			deleted: [],
			freedBytes: 0,
			kept: { referenced: 0, withinGrace: 0 },
		};
	}
}
