/**
 * scheduler — owns the node inventory, the deployments (desired replicas, resources, traffic)
 * and their placement, and the training queue. Its parts are mixins of mixins/scheduler/: the
 * fleet's nodes (inventory, `nodes`, `nodes.forget`, who leads), the deployments (a reconciler
 * keeps replicas on fitting predictor nodes, re-places those of lost nodes, autoscales, and
 * publishes the routing table every caller routes with) and the training queue (`jobs.*` and
 * the dispatcher). This file builds the stores on the database and runs the periodic passes.
 */
import type { ServiceSchema } from "moleculer";
import type { FleetTrust } from "../lib/accounts/fleet-trust";
import type { Database } from "../lib/db/database";
import { NodeInventory } from "../lib/fleet/node-inventory";
import { SERVICE } from "../lib/fleet/node-role";
import { DeploymentStore } from "../lib/scheduler/deployment-store";
import { JobStore } from "../lib/scheduler/job-store";
import { domainEventsMixin } from "../mixins/domain-events.mixin";
import { fleetServicesMixin } from "../mixins/fleet-services.mixin";
import { quotaGuardMixin } from "../mixins/quota-guard.mixin";
import { deploymentsMixin } from "../mixins/scheduler/deployments.mixin";
import { fleetNodesMixin } from "../mixins/scheduler/fleet-nodes.mixin";
import { trainingQueueMixin } from "../mixins/scheduler/training-queue.mixin";
import { tenantAccessMixin } from "../mixins/tenant-access.mixin";

export interface SchedulerServiceOptions {
	heartbeatTimeoutMs: number;
	database: Database;
	reconcileIntervalMs: number;
	/** How long a replica's load may take before it counts as failed, ms. */
	loadTimeoutMs?: number;
	/** Signs the identity of the tenant a deployment's loads and a job's run act for. */
	trust: FleetTrust;
}

export function schedulerService(options: SchedulerServiceOptions): ServiceSchema {
	const { trust } = options;
	let timer: NodeJS.Timeout | null = null;

	return {
		name: SERVICE.scheduler,
		mixins: [
			domainEventsMixin(),
			quotaGuardMixin(),
			fleetServicesMixin(),
			tenantAccessMixin(),
			fleetNodesMixin(new NodeInventory(options.heartbeatTimeoutMs)),
			deploymentsMixin({
				store: new DeploymentStore(options.database.db),
				trust,
				...(options.loadTimeoutMs !== undefined
					? { loadTimeoutMs: options.loadTimeoutMs }
					: {}),
			}),
			trainingQueueMixin({ jobs: new JobStore(options.database.db), trust }),
		],

		started() {
			timer = setInterval(() => {
				void this.reconcile();
				void this.dispatch();
			}, options.reconcileIntervalMs);
			timer.unref();
		},

		stopped() {
			if (timer) clearInterval(timer);
		},
	};
}
