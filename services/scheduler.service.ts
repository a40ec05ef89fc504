/**
 * scheduler — owns the node inventory, the deployments (desired replicas, resources, traffic)
 * and their placement, and the training queue. Its parts are mixins of mixins/scheduler/: the
 * fleet's nodes (inventory, `nodes`, `nodes.forget`, who leads), the deployments (a reconciler
 * keeps replicas on fitting predictor nodes, re-places those of lost nodes, autoscales, and
 * publishes the routing table every caller routes with) and the training queue (`jobs.*` and
 * the dispatcher). Only the holder of the leadership lease (lib/scheduler/leader-lease.ts) acts,
 * and its stores' writes are fenced by the lease. This file builds the stores on the database,
 * runs the lease and the periodic passes.
 */
import type { ServiceSchema } from "moleculer";
import type { FleetTrust } from "../lib/accounts/fleet-trust";
import type { Database } from "../lib/db/database";
import { NodeInventory } from "../lib/fleet/node-inventory";
import { SERVICE } from "../lib/fleet/node-role";
import { DeploymentStore } from "../lib/scheduler/deployment-store";
import { JobStore } from "../lib/scheduler/job-store";
import type { LeaderLease } from "../lib/scheduler/leader-lease";
import { domainEventsMixin } from "../mixins/domain-events.mixin";
import { fleetServicesMixin } from "../mixins/fleet-services.mixin";
import { quotaGuardMixin } from "../mixins/quota-guard.mixin";
import { deploymentsMixin } from "../mixins/scheduler/deployments.mixin";
import { fleetNodesMixin } from "../mixins/scheduler/fleet-nodes.mixin";
import { monitoringMixin } from "../mixins/scheduler/monitoring.mixin";
import { studiesMixin } from "../mixins/scheduler/studies.mixin";
import { trainingQueueMixin } from "../mixins/scheduler/training-queue.mixin";
import { StudyStore } from "../lib/studies/study-store";
import { tenantAccessMixin } from "../mixins/tenant-access.mixin";

export interface SchedulerServiceOptions {
	heartbeatTimeoutMs: number;
	database: Database;
	reconcileIntervalMs: number;
	/** How long a replica's load may take before it counts as failed, ms. */
	loadTimeoutMs?: number;
	/** Signs the identity of the tenant a deployment's loads and a job's run act for. */
	trust: FleetTrust;
	/** The control plane's leadership lease: only its holder reconciles and dispatches. */
	lease: LeaderLease;
	/** How often monitoring closes windows and scores health, ms. Default 10 000. */
	monitoringIntervalMs?: number;
	/** Days captured predictions, feedback and windows are kept. Default 30. */
	captureRetentionDays?: number;
}

export function schedulerService(options: SchedulerServiceOptions): ServiceSchema {
	const { trust, lease } = options;
	// Every write the reconciler makes is fenced by the lease's epoch.
	const deploymentStore = new DeploymentStore(options.database.db, lease);
	const jobs = new JobStore(options.database.db, lease);
	let timer: NodeJS.Timeout | null = null;
	let unsubscribe: (() => void) | null = null;

	return {
		name: SERVICE.scheduler,
		mixins: [
			domainEventsMixin(),
			quotaGuardMixin(),
			fleetServicesMixin(),
			tenantAccessMixin(),
			fleetNodesMixin(new NodeInventory(options.heartbeatTimeoutMs), lease),
			deploymentsMixin({
				store: deploymentStore,
				trust,
				...(options.loadTimeoutMs !== undefined
					? { loadTimeoutMs: options.loadTimeoutMs }
					: {}),
			}),
			trainingQueueMixin({ jobs, trust }),
			// Hyperparameter studies and runs (lib/studies): their trials ride the training queue.
			studiesMixin({ studies: new StudyStore(options.database.db, lease), jobs, trust }),
			monitoringMixin({
				database: options.database,
				deployments: deploymentStore,
				trust,
				intervalMs: options.monitoringIntervalMs ?? 10_000,
				retentionDays: options.captureRetentionDays ?? 30,
			}),
		],

		async started() {
			unsubscribe = lease.subscribe((leading, epoch, reason) => {
				if (!leading) {
					this.logger.warn(
						`Control node '${this.broker.nodeID}' stopped leading (lease epoch ${epoch}): ${reason}.`,
					);
					return;
				}
				this.logger.info(
					`Control node '${this.broker.nodeID}' now leads the control plane (lease epoch ${epoch}): it reconciles deployments, dispatches training jobs and collects garbage.`,
				);
				void this.reconcile();
				void this.dispatch();
			});
			await lease.start();
			timer = setInterval(() => {
				void this.reconcile();
				void this.dispatch();
			}, options.reconcileIntervalMs);
			timer.unref();
		},

		async stopped() {
			if (timer) clearInterval(timer);
			// Handed back, so another control node leads at once rather than after the lease.
			await lease.stop();
			unsubscribe?.();
		},
	};
}
