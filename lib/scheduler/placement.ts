/**
 * Where deployments' replicas run: a pure function from the desired replicas,
 * the nodes and the replicas placed now to a plan of replicas to place and to remove, and the
 * deployments left short with the reason an operator can act on. The scheduler gathers the
 * context, carries the plan out (load and pin, unload) and publishes the placement table.
 *
 * A replica of a deployment is one worker node holding all the versions its traffic names;
 * there is at most one replica of a deployment per node (two would share one model cache).
 */

/** What one replica of a deployment needs on its node. */
export interface ReplicaResources {
	/** Model memory the replica needs on the node (the sizes of its versions). */
	memoryBytes: number;
	/** CPU share in cores (0.5 = half a core); 0 = don't care. */
	cpu: number;
	/** 1 = needs a whole GPU (exclusive). */
	gpus: 0 | 1;
	/**
	 * > 0 = needs this much memory on one GPU (a shared GPU); 0 = none. With `gpus: 1` it is the
	 * least memory the whole GPU must have.
	 */
	gpuMemoryBytes: number;
}

export interface PlacementNode {
	nodeID: string;
	available: boolean;
	cpus: number;
	/** The node's model-cache budget. */
	modelMemoryBytes: number;
	/** Its GPUs; a null total means unknown (it fits no GPU-memory request). */
	gpus: Array<{ index: number; memoryTotalBytes: number | null }>;
}

export interface PlacedReplica {
	deploymentId: string;
	nodeID: string;
	/** The GPU it was given, if any. */
	gpuIndex: number | null;
	resources: ReplicaResources;
}

export interface DeploymentDemand {
	deploymentId: string;
	/** Desired count now (autoscaling already applied). */
	replicas: number;
	resources: ReplicaResources;
	/** Higher is placed first when capacity is short (default 0); then older first. */
	priority?: number;
	/** Epoch ms; a deployment without it counts as the newest. */
	createdAt?: number;
}

export interface PlacementPlan {
	place: Array<{ deploymentId: string; nodeID: string; gpuIndex: number | null }>;
	remove: Array<{ deploymentId: string; nodeID: string; reason: string }>;
	/** Deployments short of replicas after this plan, with the reason a user can act on. */
	pending: Array<{ deploymentId: string; missing: number; reason: string }>;
}

/** What is used on one GPU of a node, by the replicas kept and planned there. */
interface GpuLedger {
	index: number;
	memoryTotalBytes: number | null;
	memoryUsedBytes: number;
	replicas: number;
	/** Taken whole by a `gpus: 1` replica. */
	exclusive: boolean;
}

/** What is used on one available node, by the replicas kept and planned there. */
interface NodeLedger {
	node: PlacementNode;
	memoryUsedBytes: number;
	cpuUsed: number;
	replicas: number;
	/** Deployments with a replica here (kept or planned). */
	deployments: Set<string>;
	/** Deployments whose replica here this plan removes: not placed here again in the same plan. */
	leaving: Set<string>;
	gpus: GpuLedger[];
}

// CPU shares are fractions; their sums must not miss a fit by a rounding error.
const EPSILON = 1e-9;

/**
 * Plans the placement. In order:
 *
 * 1. Replicas on unavailable or vanished nodes are removed ("node … lost"), and so are
 *    replicas of deployments with no demand.
 * 2. Replicas beyond a deployment's `replicas` are removed, from the busiest nodes first (most
 *    replicas, then least model memory left, then the last nodeID: the reverse of step 4).
 * 3. The remaining replicas stay where they are (no churn) if they still fit there with their
 *    deployment's current resources, checked by deployment order (below); one that does not
 *    fit (its node shrank, its GPU vanished, its deployment now needs more or a GPU) is
 *    removed and placed again, not on the same node within this plan.
 * 4. Missing replicas are placed, deployment by deployment in deployment order, each on the
 *    best fitting node that holds no replica of it: for CPU-only replicas nodes without GPUs
 *    first (GPU nodes are kept for GPU work), then fewest replicas, then most model memory
 *    left, then nodeID. An exclusive replica gets the lowest free GPU; a shared one the GPU
 *    with the least memory left that still fits (whole GPUs stay free for exclusive work).
 *
 * Deployment order is priority (higher first), then createdAt (older first), then
 * deploymentId. Replicas already placed are never moved for a higher priority (no preemption).
 * Duplicate demands, nodes or replicas count once (the first). The plan depends on the
 * inputs' contents only, not on their order. The caller should carry out the removals of
 * lost nodes and deleted deployments at once; a moved replica is best loaded on its new node
 * before it is unloaded from the old one.
 */
export function planPlacement(
	demands: readonly DeploymentDemand[],
	nodes: readonly PlacementNode[],
	current: readonly PlacedReplica[],
): PlacementPlan {
	const plan: PlacementPlan = { place: [], remove: [], pending: [] };

	const demandById = new Map<string, DeploymentDemand>();
	for (const demand of demands) {
		if (!demandById.has(demand.deploymentId)) demandById.set(demand.deploymentId, demand);
	}
	const ordered = [...demandById.values()].sort(compareDemands);
	const rank = new Map(ordered.map((demand, i) => [demand.deploymentId, i]));

	const nodeById = new Map<string, PlacementNode>();
	for (const node of [...nodes].sort((a, b) => compareIds(a.nodeID, b.nodeID))) {
		if (!nodeById.has(node.nodeID)) nodeById.set(node.nodeID, node);
	}

	// 1. Lost nodes, deleted deployments.
	const survivors = removeLostAndDeleted(current, demandById, nodeById, plan);

	// 2. Shrink, busiest nodes first.
	const kept = shrink(survivors, demandById, nodeById, plan);

	// 3. Keep what still fits where it is.
	const ledgers = new Map<string, NodeLedger>();
	for (const node of nodeById.values()) {
		if (node.available) ledgers.set(node.nodeID, newLedger(node));
	}
	kept.sort(
		(a, b) =>
			(rank.get(a.deploymentId) ?? 0) - (rank.get(b.deploymentId) ?? 0) ||
			compareIds(a.nodeID, b.nodeID),
	);
	const have = keepInPlace(kept, demandById, ledgers, plan);

	// 4. Place what is missing.
	placeMissing(ordered, have, [...ledgers.values()], nodeById.size, plan);
	return plan;
}

/** Step 1: removes replicas on lost nodes or of deleted deployments (and duplicates); the rest. */
function removeLostAndDeleted(
	current: readonly PlacedReplica[],
	demandById: ReadonlyMap<string, DeploymentDemand>,
	nodeById: ReadonlyMap<string, PlacementNode>,
	plan: PlacementPlan,
): PlacedReplica[] {
	const seen = new Set<string>();
	const survivors: PlacedReplica[] = [];
	const byReplica = [...current].sort(
		(a, b) => compareIds(a.deploymentId, b.deploymentId) || compareIds(a.nodeID, b.nodeID),
	);
	for (const replica of byReplica) {
		const key = `${replica.deploymentId}\u0000${replica.nodeID}`;
		if (seen.has(key)) continue;
		seen.add(key);
		const node = nodeById.get(replica.nodeID);
		const remove = (reason: string) =>
			plan.remove.push({
				deploymentId: replica.deploymentId,
				nodeID: replica.nodeID,
				reason,
			});
		if (!node) remove(`node ${replica.nodeID} lost`);
		else if (!node.available) remove(`node ${replica.nodeID} lost (unavailable)`);
		else if (!demandById.has(replica.deploymentId)) remove("deployment deleted");
		else survivors.push(replica);
	}
	return survivors;
}

/** Step 3: keeps each replica that still fits where it is; the count kept per deployment. */
function keepInPlace(
	kept: readonly PlacedReplica[],
	demandById: ReadonlyMap<string, DeploymentDemand>,
	ledgers: ReadonlyMap<string, NodeLedger>,
	plan: PlacementPlan,
): Map<string, number> {
	const have = new Map<string, number>();
	for (const replica of kept) {
		const demand = demandById.get(replica.deploymentId) as DeploymentDemand;
		const ledger = ledgers.get(replica.nodeID) as NodeLedger;
		const misfit = misfitInPlace(ledger, demand.resources, replica.gpuIndex);
		if (misfit) {
			ledger.leaving.add(replica.deploymentId);
			plan.remove.push({
				deploymentId: replica.deploymentId,
				nodeID: replica.nodeID,
				reason: `no longer fits on node ${replica.nodeID}: ${misfit}`,
			});
			continue;
		}
		const gpuIndex = needsGpu(demand.resources) ? replica.gpuIndex : null;
		commit(ledger, replica.deploymentId, demand.resources, gpuIndex);
		have.set(replica.deploymentId, (have.get(replica.deploymentId) ?? 0) + 1);
	}
	return have;
}

/** Step 4: places the missing replicas in deployment order, or records why they wait. */
function placeMissing(
	ordered: readonly DeploymentDemand[],
	have: ReadonlyMap<string, number>,
	available: readonly NodeLedger[],
	nodeCount: number,
	plan: PlacementPlan,
): void {
	for (const demand of ordered) {
		const desired = desiredCount(demand);
		let placed = have.get(demand.deploymentId) ?? 0;
		while (placed < desired) {
			const choice = bestNode(available, demand);
			if (!choice) {
				plan.pending.push({
					deploymentId: demand.deploymentId,
					missing: desired - placed,
					reason: pendingReason(demand, desired, placed, nodeCount, available),
				});
				break;
			}
			commit(choice.ledger, demand.deploymentId, demand.resources, choice.gpuIndex);
			plan.place.push({
				deploymentId: demand.deploymentId,
				nodeID: choice.ledger.node.nodeID,
				gpuIndex: choice.gpuIndex,
			});
			placed++;
		}
	}
}

/** "2.0 GB": decimal units, one decimal place. */
export function formatBytes(bytes: number): string {
	const units = ["B", "kB", "MB", "GB", "TB", "PB"];
	let value = Math.max(0, bytes);
	let unit = 0;
	while (value >= 1000 && unit < units.length - 1) {
		value /= 1000;
		unit++;
	}
	return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** True when the replica needs a GPU, whole or shared. */
export function needsGpu(resources: ReplicaResources): boolean {
	return resources.gpus === 1 || resources.gpuMemoryBytes > 0;
}

function compareIds(a: string, b: string): number {
	return a < b ? -1 : a > b ? 1 : 0;
}

function compareDemands(a: DeploymentDemand, b: DeploymentDemand): number {
	return (
		(b.priority ?? 0) - (a.priority ?? 0) ||
		(a.createdAt ?? Infinity) - (b.createdAt ?? Infinity) ||
		compareIds(a.deploymentId, b.deploymentId)
	);
}

function desiredCount(demand: DeploymentDemand): number {
	return Number.isFinite(demand.replicas) ? Math.max(0, Math.floor(demand.replicas)) : 0;
}

function plural(count: number, one: string, many = `${one}s`): string {
	return `${count} ${count === 1 ? one : many}`;
}

/** Removes replicas beyond each deployment's desired count, from the busiest nodes first. */
function shrink(
	survivors: PlacedReplica[],
	demandById: ReadonlyMap<string, DeploymentDemand>,
	nodeById: ReadonlyMap<string, PlacementNode>,
	plan: PlacementPlan,
): PlacedReplica[] {
	// How busy each node is with the survivors, each counted with its deployment's memory.
	const count = new Map<string, number>();
	const memoryUsed = new Map<string, number>();
	const use = (replica: PlacedReplica, sign: 1 | -1) => {
		const bytes = (demandById.get(replica.deploymentId) as DeploymentDemand).resources
			.memoryBytes;
		count.set(replica.nodeID, (count.get(replica.nodeID) ?? 0) + sign);
		memoryUsed.set(replica.nodeID, (memoryUsed.get(replica.nodeID) ?? 0) + sign * bytes);
	};
	survivors.forEach(replica => use(replica, 1));
	const memoryLeft = (nodeID: string) =>
		(nodeById.get(nodeID) as PlacementNode).modelMemoryBytes - (memoryUsed.get(nodeID) ?? 0);
	const busier = (a: PlacedReplica, b: PlacedReplica) =>
		(count.get(b.nodeID) ?? 0) - (count.get(a.nodeID) ?? 0) ||
		memoryLeft(a.nodeID) - memoryLeft(b.nodeID) ||
		compareIds(b.nodeID, a.nodeID);

	const byDeployment = new Map<string, PlacedReplica[]>();
	for (const replica of survivors) {
		const list = byDeployment.get(replica.deploymentId) ?? [];
		list.push(replica);
		byDeployment.set(replica.deploymentId, list);
	}
	const kept: PlacedReplica[] = [];
	for (const [deploymentId, replicas] of [...byDeployment].sort((a, b) =>
		compareIds(a[0], b[0]),
	)) {
		const desired = desiredCount(demandById.get(deploymentId) as DeploymentDemand);
		const remaining = [...replicas];
		while (remaining.length > desired) {
			remaining.sort(busier);
			const victim = remaining.shift() as PlacedReplica;
			use(victim, -1);
			plan.remove.push({
				deploymentId,
				nodeID: victim.nodeID,
				reason: `scaled down to ${plural(desired, "replica")}`,
			});
		}
		kept.push(...remaining);
	}
	return kept;
}

function newLedger(node: PlacementNode): NodeLedger {
	return {
		node,
		memoryUsedBytes: 0,
		cpuUsed: 0,
		replicas: 0,
		deployments: new Set(),
		leaving: new Set(),
		gpus: [...node.gpus]
			.sort((a, b) => a.index - b.index)
			.map(gpu => ({
				index: gpu.index,
				memoryTotalBytes: gpu.memoryTotalBytes,
				memoryUsedBytes: 0,
				replicas: 0,
				exclusive: false,
			})),
	};
}

function commit(
	ledger: NodeLedger,
	deploymentId: string,
	resources: ReplicaResources,
	gpuIndex: number | null,
): void {
	ledger.memoryUsedBytes += resources.memoryBytes;
	ledger.cpuUsed += Math.max(0, resources.cpu);
	ledger.replicas++;
	ledger.deployments.add(deploymentId);
	const gpu = ledger.gpus.find(g => g.index === gpuIndex);
	if (gpu) {
		gpu.replicas++;
		gpu.memoryUsedBytes += resources.gpuMemoryBytes;
		if (resources.gpus === 1) gpu.exclusive = true;
	}
}

const memoryLeft = (ledger: NodeLedger) => ledger.node.modelMemoryBytes - ledger.memoryUsedBytes;
const cpuLeft = (ledger: NodeLedger) => ledger.node.cpus - ledger.cpuUsed;
const gpuMemoryLeft = (gpu: GpuLedger) =>
	gpu.memoryTotalBytes === null ? null : gpu.memoryTotalBytes - gpu.memoryUsedBytes;

function fitsMemory(ledger: NodeLedger, resources: ReplicaResources): boolean {
	return memoryLeft(ledger) >= resources.memoryBytes;
}

function fitsCpu(ledger: NodeLedger, resources: ReplicaResources): boolean {
	return resources.cpu <= 0 || cpuLeft(ledger) + EPSILON >= resources.cpu;
}

function gpuFits(gpu: GpuLedger, resources: ReplicaResources): boolean {
	if (resources.gpus === 1) {
		if (gpu.replicas > 0) return false;
		return (
			resources.gpuMemoryBytes <= 0 ||
			(gpu.memoryTotalBytes !== null && gpu.memoryTotalBytes >= resources.gpuMemoryBytes)
		);
	}
	const left = gpuMemoryLeft(gpu);
	return !gpu.exclusive && left !== null && left >= resources.gpuMemoryBytes;
}

/** The GPU to give the replica on this node: null when it needs none, undefined when none fits. */
function chooseGpu(ledger: NodeLedger, resources: ReplicaResources): number | null | undefined {
	if (!needsGpu(resources)) return null;
	const fitting = ledger.gpus.filter(gpu => gpuFits(gpu, resources));
	if (fitting.length === 0) return undefined;
	if (resources.gpus === 1) return fitting[0].index;
	// Best fit: the least memory left that still fits, so whole GPUs stay free.
	fitting.sort(
		(a, b) => (gpuMemoryLeft(a) as number) - (gpuMemoryLeft(b) as number) || a.index - b.index,
	);
	return fitting[0].index;
}

/** Why a kept replica no longer fits where it is, or null when it does. */
function misfitInPlace(
	ledger: NodeLedger,
	resources: ReplicaResources,
	gpuIndex: number | null,
): string | null {
	if (needsGpu(resources)) {
		const gpu = ledger.gpus.find(g => g.index === gpuIndex);
		if (gpuIndex === null) return "it now needs a GPU";
		if (!gpu) return `GPU ${gpuIndex} is gone`;
		if (!gpuFits(gpu, resources)) {
			return resources.gpus === 1
				? `GPU ${gpuIndex} is not free`
				: `GPU ${gpuIndex} has ${formatBytes(gpuMemoryLeft(gpu) ?? 0)} free, it needs ${formatBytes(resources.gpuMemoryBytes)}`;
		}
	}
	if (!fitsMemory(ledger, resources)) {
		return `${formatBytes(Math.max(0, memoryLeft(ledger)))} of model memory free, it needs ${formatBytes(resources.memoryBytes)}`;
	}
	if (!fitsCpu(ledger, resources)) {
		return `${formatCores(Math.max(0, cpuLeft(ledger)))} free, it needs ${formatCores(resources.cpu)}`;
	}
	return null;
}

/** Nodes that may take a new replica of the deployment at all (spread, not leaving). */
function eligible(ledgers: readonly NodeLedger[], deploymentId: string): NodeLedger[] {
	return ledgers.filter(
		ledger => !ledger.deployments.has(deploymentId) && !ledger.leaving.has(deploymentId),
	);
}

function bestNode(
	ledgers: readonly NodeLedger[],
	demand: DeploymentDemand,
): { ledger: NodeLedger; gpuIndex: number | null } | null {
	const { resources } = demand;
	const cpuOnly = !needsGpu(resources);
	let best: { ledger: NodeLedger; gpuIndex: number | null } | null = null;
	for (const ledger of eligible(ledgers, demand.deploymentId)) {
		if (!fitsMemory(ledger, resources) || !fitsCpu(ledger, resources)) continue;
		const gpuIndex = chooseGpu(ledger, resources);
		if (gpuIndex === undefined) continue;
		if (!best || preferred(ledger, best.ledger, cpuOnly)) best = { ledger, gpuIndex };
	}
	return best;
}

/** True when `a` is a better home than `b` for a new replica. */
function preferred(a: NodeLedger, b: NodeLedger, cpuOnly: boolean): boolean {
	if (cpuOnly) {
		const aGpu = a.gpus.length > 0 ? 1 : 0;
		const bGpu = b.gpus.length > 0 ? 1 : 0;
		if (aGpu !== bGpu) return aGpu < bGpu;
	}
	if (a.replicas !== b.replicas) return a.replicas < b.replicas;
	if (memoryLeft(a) !== memoryLeft(b)) return memoryLeft(a) > memoryLeft(b);
	return compareIds(a.node.nodeID, b.node.nodeID) < 0;
}

function formatCores(cores: number): string {
	const text = String(Number(cores.toFixed(2)));
	return `${text} CPU ${cores === 1 ? "core" : "cores"}`;
}

/**
 * Why no further replica of the deployment fits. The constraints are checked in a fixed order
 * (one per node, GPU, model memory, CPU) and the first that rules out every node left is
 * named, with the best figure the fleet has for it.
 */
function pendingReason(
	demand: DeploymentDemand,
	desired: number,
	placed: number,
	nodeCount: number,
	ledgers: readonly NodeLedger[],
): string {
	if (ledgers.length === 0) {
		return nodeCount === 0
			? "no worker nodes in the fleet"
			: `no worker nodes available (${plural(nodeCount, "node")} unavailable)`;
	}
	const short = `needs ${plural(desired, "node")}, only ${placed} fit`;
	let left = eligible(ledgers, demand.deploymentId);
	if (left.length === 0) return `${short} (one replica per node)`;

	const { resources } = demand;
	const none = placed > 0 ? "no other node" : "no node";
	const explain = (reason: string) => (placed > 0 ? `${short}: ${reason}` : reason);

	if (needsGpu(resources)) {
		const withGpu = left.filter(ledger => chooseGpu(ledger, resources) !== undefined);
		if (withGpu.length === 0) return explain(gpuReason(left, resources, none));
		left = withGpu;
	}
	const withMemory = left.filter(ledger => fitsMemory(ledger, resources));
	if (withMemory.length === 0) {
		const largest = Math.max(...left.map(memoryLeft));
		return explain(
			`${none} with ${formatBytes(resources.memoryBytes)} of model memory free (largest free: ${formatBytes(largest)})`,
		);
	}
	const mostCpu = Math.max(0, ...withMemory.map(cpuLeft));
	return explain(
		`${none} with ${formatCores(resources.cpu)} free (most free: ${String(Number(mostCpu.toFixed(2)))})`,
	);
}

function gpuReason(ledgers: readonly NodeLedger[], resources: ReplicaResources, none: string) {
	const gpus = ledgers.flatMap(ledger => ledger.gpus);
	const noGpu =
		ledgers.length === 1
			? "the node has no GPU"
			: `none of the ${plural(ledgers.length, "node")} has a GPU`;
	const hint = "; start a worker on a GPU host or declare its GPUs";
	if (resources.gpus === 1) {
		const head = `${none} with a free GPU`;
		if (gpus.length === 0) return `${head} (${noGpu}${hint})`;
		const free = gpus.filter(gpu => gpu.replicas === 0);
		if (free.length === 0) {
			return `${head} (${gpus.length === 1 ? "the only GPU is" : `all ${gpus.length} GPUs are`} in use)`;
		}
		const known = free.flatMap(gpu => (gpu.memoryTotalBytes === null ? [] : [gpu]));
		if (known.length === 0) {
			return `${head} of ${formatBytes(resources.gpuMemoryBytes)} (free GPUs' memory unknown: declare it)`;
		}
		const largest = Math.max(...known.map(gpu => gpu.memoryTotalBytes as number));
		return `${head} of ${formatBytes(resources.gpuMemoryBytes)} (largest free GPU: ${formatBytes(largest)})`;
	}
	const head = `${none} with ${formatBytes(resources.gpuMemoryBytes)} of GPU memory free`;
	if (gpus.length === 0) return `${head} (${noGpu}${hint})`;
	const shareable = gpus.filter(gpu => !gpu.exclusive);
	if (shareable.length === 0) {
		return `${head} (${gpus.length === 1 ? "the only GPU is" : `all ${gpus.length} GPUs are`} taken whole)`;
	}
	const known = shareable.flatMap(gpu => (gpu.memoryTotalBytes === null ? [] : [gpu]));
	if (known.length === 0) return `${head} (GPU memory unknown: declare it)`;
	const largest = Math.max(0, ...known.map(gpu => gpuMemoryLeft(gpu) as number));
	return `${head} (largest free: ${formatBytes(largest)})`;
}
