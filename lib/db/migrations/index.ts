import * as initial from "./0001-initial";
import * as versionServing from "./0002-version-serving";
import * as deployments from "./0003-deployments";
import * as training from "./0004-training";
import * as apiKeySecret from "./0005-api-key-secret";
import * as artifactOwners from "./0006-artifact-owners";
import * as usageAndQuotas from "./0007-usage-and-quotas";
import * as controlLease from "./0008-control-lease";
import * as monitoring from "./0009-monitoring";
import * as events from "./0010-events";
import * as studies from "./0011-studies";
import * as dataParallel from "./0013-data-parallel";
import * as captureBytes from "./0014-capture-bytes";
import * as versionIdempotency from "./0015-version-idempotency";
import * as captureKeysAndFiles from "./0016-capture-keys-and-files";

/** Every migration, in the order it is applied. Add new ones at the end; never edit an applied one. */
export const MIGRATIONS: readonly { id: string; up: string }[] = [
	{ id: "0001-initial", up: initial.up },
	{ id: "0002-version-serving", up: versionServing.up },
	{ id: "0003-deployments", up: deployments.up },
	{ id: "0004-training", up: training.up },
	{ id: "0005-api-key-secret", up: apiKeySecret.up },
	{ id: "0006-artifact-owners", up: artifactOwners.up },
	{ id: "0007-usage-and-quotas", up: usageAndQuotas.up },
	{ id: "0008-control-lease", up: controlLease.up },
	{ id: "0009-monitoring", up: monitoring.up },
	{ id: "0010-events", up: events.up },
	{ id: "0011-studies", up: studies.up },
	{ id: "0013-data-parallel", up: dataParallel.up },
	{ id: "0014-capture-bytes", up: captureBytes.up },
	{ id: "0015-version-idempotency", up: versionIdempotency.up },
	{ id: "0016-capture-keys-and-files", up: captureKeysAndFiles.up },
];
