/**
 * registry — models, versions, lifecycle, aliases, datasets and the audit log, all scoped to
 * the caller's tenant (another tenant's objects answer 404). Every mutation is audited in its
 * own transaction and announced by an event after it commits. Its parts are mixins of
 * mixins/registry/; this file builds the stores on the database and hands the importers in.
 */
import { fleetInternal } from "../lib/accounts/access";
import type { ServiceSchema } from "moleculer";
import type { LocalBlobsOptions } from "../lib/artifacts/local-blobs";
import type { Database } from "../lib/db/database";
import { SERVICE } from "../lib/fleet/node-role";
import { createModelImporters, importModelFile, type ArchiveLimits } from "../lib/importers";
import { DatasetStore } from "../lib/registry/dataset-store";
import { ModelStore } from "../lib/registry/model-store";
import { storedBytes, type TenantStoredBytes } from "../lib/registry/tenant-usage";
import { VersionStore } from "../lib/registry/version-store";
import { domainEventsMixin } from "../mixins/domain-events.mixin";
import { localBlobsMixin } from "../mixins/local-blobs.mixin";
import { quotaGuardMixin } from "../mixins/quota-guard.mixin";
import { aliasesMixin } from "../mixins/registry/aliases.mixin";
import { datasetsMixin } from "../mixins/registry/datasets.mixin";
import { modelsMixin } from "../mixins/registry/models.mixin";
import type { RegistryStores } from "../mixins/registry/registry-parts";
import { versionsMixin } from "../mixins/registry/versions.mixin";

export interface RegistryServiceOptions {
	database: Database;
	/** The node's data directory: where a co-located artifacts store keeps blobs, and the import cache. */
	dataDir: string;
	/** How far a model archive (TF.js tar) may unpack on import; default DEFAULT_ARCHIVE_LIMITS. */
	archiveLimits?: ArchiveLimits;
	/** Encryption at rest of the blobs this node reads (its key, where decrypted copies go). Default none. */
	blobs?: LocalBlobsOptions;
}

export function registryService(options: RegistryServiceOptions): ServiceSchema {
	const { db } = options.database;
	const importers = createModelImporters(
		options.archiveLimits ? { archiveLimits: options.archiveLimits } : {},
	);
	const stores: RegistryStores = {
		db,
		models: new ModelStore(db),
		versions: new VersionStore(db),
		datasets: new DatasetStore(db),
	};

	return {
		name: SERVICE.registry,
		mixins: [
			domainEventsMixin(),
			quotaGuardMixin(),
			localBlobsMixin({ dataDir: options.dataDir, blobs: options.blobs }),
			modelsMixin(stores),
			versionsMixin(stores, (filePath, hints) =>
				importModelFile(filePath, { ...hints, importers }),
			),
			aliasesMixin(stores),
			datasetsMixin(stores),
		],

		actions: {
			/** Every artifact a version or dataset references, across tenants: what artifact GC keeps (with the scheduler's checkpoints). Fleet-internal. */
			referencedArtifacts: fleetInternal({
				visibility: "public",
				async handler(): Promise<string[]> {
					return [
						...(await stores.versions.referencedArtifacts()),
						...(await stores.datasets.referencedArtifacts()),
					];
				},
			}),

			/** Each tenant's stored bytes (model files, datasets): the usage report's daily figure. Fleet-internal. */
			storedBytes: fleetInternal({
				visibility: "public",
				handler(): Promise<TenantStoredBytes[]> {
					return storedBytes(db);
				},
			}),
		},
	};
}
