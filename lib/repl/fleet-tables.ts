/**
 * What the REPL's `fleet` commands print: the fleet's answers (nodes, models, deployments,
 * placements, predictions, training jobs) turned into aligned tables. Pure: data in, lines out.
 */
import type { HealthScore } from "../monitoring/health-score";
import type { OptimizationTable } from "../optimization/recommendation";
import type { JobView } from "../scheduler/job-store";
import type { FleetNode } from "../fleet/node-inventory";
import type { ModelView } from "../registry/model-store";
import type { VersionView } from "../registry/version-store";
import type { RoutingEntry, RoutingTable } from "../routing/routing-table";
import type { DeploymentView } from "../scheduler/deployment-store";
import { formatTable } from "./text-table";

const KiB = 1024;

/** Bytes for people: `512 B`, `64.0 MiB`, `7.8 GiB`. */
export function formatBytes(bytes: number | null | undefined): string {
	if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return "?";
	const units = ["B", "KiB", "MiB", "GiB", "TiB"];
	let value = bytes;
	let unit = 0;
	while (value >= KiB && unit < units.length - 1) {
		value /= KiB;
		unit++;
	}
	return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** How many ready replicas each node holds, over every deployment. */
export function replicasPerNode(table: RoutingTable): Map<string, number> {
	const counts = new Map<string, number>();
	for (const entry of table.deployments) {
		for (const nodeID of entry.replicas) counts.set(nodeID, (counts.get(nodeID) ?? 0) + 1);
	}
	return counts;
}

function gpusCell(node: FleetNode): string {
	if (node.capacity.gpus.length === 0) return "-";
	const live = new Map((node.status?.gpus ?? []).map(gpu => [gpu.index, gpu]));
	return node.capacity.gpus
		.map(gpu => {
			const free = live.get(gpu.index)?.memoryFreeBytes ?? gpu.memoryFreeBytes;
			return `#${gpu.index} ${gpu.name} ${formatBytes(free)} free of ${formatBytes(gpu.memoryTotalBytes)}`;
		})
		.join("; ");
}

function loadCell(node: FleetNode): string {
	const status = node.status;
	if (status === null) return "-";
	const active = status.serving?.activeRequests;
	return `cpu ${status.cpuLoad.toFixed(2)}` + (active !== undefined ? `, ${active} active` : "");
}

/** `fleet nodes`: node, role, cores, memory, GPUs with free memory, load, replicas, state. */
export function nodesTable(nodes: readonly FleetNode[], placements: RoutingTable): string[] {
	const replicas = replicasPerNode(placements);
	return formatTable(
		[
			{ header: "NODE" },
			{ header: "ROLE" },
			{ header: "CORES", align: "right" },
			{ header: "MEMORY", align: "right" },
			{ header: "GPUS" },
			{ header: "LOAD" },
			{ header: "REPLICAS", align: "right" },
			{ header: "STATE" },
		],
		nodes.map(node => [
			node.nodeID,
			node.role,
			String(node.capacity.cpus),
			formatBytes(node.capacity.memoryBytes),
			gpusCell(node),
			loadCell(node),
			node.services.includes("predictor") ? String(replicas.get(node.nodeID) ?? 0) : "-",
			node.available
				? node.leader === true
					? "up, leader"
					: "up"
				: `down (${node.unavailableReason ?? "unavailable"})`,
		]),
	);
}

/** A model with its newest versions (newest first), when they could be read. */
export interface ModelWithVersions {
	model: ModelView;
	versions: readonly Pick<VersionView, "version" | "state">[] | null;
}

/** `fleet models`: name, task, framework and the newest versions with their states. */
export function modelsTable(models: readonly ModelWithVersions[]): string[] {
	return formatTable(
		[{ header: "MODEL" }, { header: "TASK" }, { header: "FRAMEWORK" }, { header: "VERSIONS" }],
		models.map(({ model, versions }) => [
			model.name,
			model.task,
			model.framework,
			versions === null
				? "?"
				: versions.length === 0
					? "-"
					: versions.map(v => `${v.version} ${v.state}`).join(", "),
		]),
	);
}

/** `1.0.0 90%, 2.0.0 10%` (+ `shadow 3.0.0`). */
export function trafficText(
	traffic: readonly { version: string; weight: number }[],
	shadow: string | null,
): string {
	const split = traffic.map(t => `${t.version} ${t.weight}%`).join(", ");
	return shadow !== null ? `${split}, shadow ${shadow}` : split;
}

function resourcesText(d: DeploymentView): string {
	const parts: string[] = [];
	if (d.resources.gpus >= 1) parts.push("1 GPU");
	else if (d.resources.gpuMemoryBytes > 0)
		parts.push(`GPU ${formatBytes(d.resources.gpuMemoryBytes)}`);
	if (d.resources.memoryBytes !== null) parts.push(formatBytes(d.resources.memoryBytes));
	if (d.resources.cpu > 0) parts.push(`${d.resources.cpu} CPU`);
	return parts.length > 0 ? parts.join(", ") : "-";
}

function replicasText(d: DeploymentView): string {
	return d.autoscaling !== null
		? `${d.replicas} (${d.minReplicas}-${d.maxReplicas}, autoscaled)`
		: String(d.replicas);
}

/** `fleet deploy` / `fleet scale`: the deployment as it is now. */
export function deploymentsTable(deployments: readonly DeploymentView[]): string[] {
	return formatTable(
		[
			{ header: "DEPLOYMENT" },
			{ header: "VERSIONS" },
			{ header: "REPLICAS" },
			{ header: "READY", align: "right" },
			{ header: "STATUS" },
			{ header: "RESOURCES" },
		],
		deployments.map(d => [
			d.model,
			trafficText(d.traffic, d.shadow?.version ?? null),
			replicasText(d),
			String(d.readyReplicas),
			d.statusReason ? `${d.status}: ${d.statusReason}` : d.status,
			resourcesText(d),
		]),
	);
}

/**
 * `fleet placements`: per deployment its tenant, versions with weights and the nodes holding
 * a ready replica. `tenantName` turns a tenant ID into its name where the REPL knows it.
 */
export function placementsTable(
	entries: readonly RoutingEntry[],
	tenantName: (id: string) => string,
): string[] {
	return formatTable(
		[
			{ header: "DEPLOYMENT" },
			{ header: "TENANT" },
			{ header: "VERSIONS" },
			{ header: "READY", align: "right" },
			{ header: "NODES" },
		],
		[...entries]
			.sort(
				(a, b) =>
					tenantName(a.tenant).localeCompare(tenantName(b.tenant)) ||
					a.model.localeCompare(b.model),
			)
			.map(entry => [
				entry.model,
				tenantName(entry.tenant),
				trafficText(entry.traffic, entry.shadow),
				String(entry.replicas.length),
				entry.replicas.length > 0 ? [...entry.replicas].sort().join(", ") : "-",
			]),
	);
}

/** One output tensor of a prediction, as it arrives (typed arrays cross the transporter). */
export interface PredictionOutput {
	name: string;
	datatype: string;
	shape: readonly number[];
	data: ArrayLike<unknown>;
}

export interface PredictionAnswer {
	modelName: string;
	modelVersion: string;
	executionProvider?: string;
	outputs: readonly PredictionOutput[];
}

/** How many values of one output are printed before `…`. */
export const MAX_VALUES_SHOWN = 12;

/** A value as a person reads it: at most 4 significant digits for fractions. */
export function formatValue(value: unknown): string {
	if (typeof value === "number") {
		if (Number.isInteger(value) || !Number.isFinite(value)) return String(value);
		return String(Number(value.toPrecision(4)));
	}
	if (typeof value === "string") return JSON.stringify(value);
	return String(value);
}

/** `[0.75, 4, …]`, cut after MAX_VALUES_SHOWN values with how many more there are. */
export function formatValues(data: ArrayLike<unknown>): string {
	const shown: string[] = [];
	const count = Math.min(data.length, MAX_VALUES_SHOWN);
	for (let i = 0; i < count; i++) shown.push(formatValue(data[i]));
	if (data.length > count) shown.push(`… ${data.length - count} more`);
	return `[${shown.join(", ")}]`;
}

/** `fleet predict`: which version (and node) answered, then one row per output. */
export function predictionLines(answer: PredictionAnswer, servedBy: string | null): string[] {
	const where = [
		...(servedBy !== null ? [`node ${servedBy}`] : []),
		...(answer.executionProvider ? [answer.executionProvider] : []),
	];
	return [
		`${answer.modelName}@${answer.modelVersion}` +
			(where.length > 0 ? ` (${where.join(", ")})` : ""),
		...formatTable(
			[{ header: "OUTPUT" }, { header: "DATATYPE" }, { header: "SHAPE" }, { header: "DATA" }],
			answer.outputs.map(output => [
				output.name,
				output.datatype,
				`[${output.shape.join(", ")}]`,
				formatValues(output.data),
			]),
		),
	];
}

/** A training job as `scheduler.jobs.list` may describe it: the fields the table shows. */
export interface JobRow {
	id: string;
	model: string;
	state: string;
	epoch: string;
	loss: string;
	node: string;
}

/** Reads the jobs of a `scheduler.jobs.list` answer (`{items: JobView[]}`). */
export function readJobs(answer: { items: readonly JobView[] } | readonly JobView[]): JobRow[] {
	const list = Array.isArray(answer) ? answer : (answer as { items: readonly JobView[] }).items;
	return list.map(job => {
		const last = job.progress.at(-1);
		const { epochs, kind, recipe } = job.spec as {
			epochs?: unknown;
			kind?: unknown;
			recipe?: unknown;
		};
		// An optimization job's progress is a percentage of its recipe (docs/optimization.md).
		const optimization = kind === "optimize";
		return {
			id: job.id,
			model: optimization ? `${job.model} (${String(recipe)})` : job.model,
			state: job.waitingReason ? `${job.state} (${job.waitingReason})` : job.state,
			epoch: optimization
				? `${job.epoch}%`
				: typeof epochs === "number"
					? `${job.epoch}/${epochs}`
					: String(job.epoch),
			loss: last?.metrics.loss !== undefined ? formatValue(last.metrics.loss) : "-",
			node: job.nodeID ?? "-",
		};
	});
}

/** `fleet jobs`: id, model, state, epoch, loss, node. */
export function jobsTable(jobs: readonly JobRow[]): string[] {
	return formatTable(
		[
			{ header: "ID" },
			{ header: "MODEL" },
			{ header: "STATE" },
			{ header: "EPOCH", align: "right" },
			{ header: "LOSS", align: "right" },
			{ header: "NODE" },
		],
		jobs.map(job => [job.id, job.model, job.state, job.epoch, job.loss, job.node]),
	);
}

/** A study as `scheduler.studies.list` describes it: the fields the table shows. */
export interface StudyListItem {
	id: string;
	name: string;
	model: string;
	state: string;
	trialsStarted: number;
	trialsFinished: number;
	epochsRun: number;
	spec: {
		budget?: { trials?: number };
		searcher?: { type?: string };
		objective?: { metric?: string };
	};
	best: { trial: number; value: number; version?: string | null } | null;
}

/** `fleet studies`: id, name, searcher, state, trials finished/started of the budget, epochs, best. */
export function studiesTable(studies: readonly StudyListItem[]): string[] {
	return formatTable(
		[
			{ header: "ID" },
			{ header: "NAME" },
			{ header: "SEARCHER" },
			{ header: "STATE" },
			{ header: "TRIALS", align: "right" },
			{ header: "EPOCHS", align: "right" },
			{ header: "BEST" },
		],
		studies.map(s => [
			s.id,
			s.name,
			s.spec.searcher?.type ?? "-",
			s.state,
			`${s.trialsFinished}/${s.trialsStarted}/${s.spec.budget?.trials ?? "?"}`,
			String(s.epochsRun),
			s.best
				? `${s.spec.objective?.metric ?? "value"} ${formatValue(s.best.value)} (trial ${s.best.trial}${s.best.version ? `, ${s.best.version}` : ""})`
				: "-",
		]),
	);
}

/** A deployment's latest health (null before the first monitoring pass, or when not captured). */
export interface HealthRow {
	model: string;
	health: HealthScore | null;
}

/** `fleet health`: model, score, status, then each part's score ("-": no data). */
export function healthTable(rows: readonly HealthRow[]): string[] {
	const part = (row: HealthRow, name: string) => {
		const score = row.health?.parts.find(p => p.name === name)?.score;
		return score === null || score === undefined ? "-" : String(Math.round(score));
	};
	return formatTable(
		[
			{ header: "MODEL" },
			{ header: "SCORE", align: "right" },
			{ header: "STATUS" },
			{ header: "ERRORS", align: "right" },
			{ header: "LATENCY", align: "right" },
			{ header: "DRIFT", align: "right" },
			{ header: "ACCURACY", align: "right" },
		],
		rows.map(row => [
			row.model,
			row.health ? String(row.health.score) : "-",
			row.health?.status ?? "not monitored",
			part(row, "errors"),
			part(row, "latency"),
			part(row, "drift"),
			part(row, "accuracy"),
		]),
	);
}

/** `fleet optimizations`: one row per optimized version, the recommended one starred. */
export function optimizationsTable(table: OptimizationTable): string[] {
	const number = (value: number | null, digits: number) =>
		value === null ? "-" : value.toFixed(digits);
	return formatTable(
		[
			{ header: "VERSION" },
			{ header: "RECIPE" },
			{ header: "STATE" },
			{ header: "SIZE", align: "right" },
			{ header: "×SMALLER", align: "right" },
			{ header: "ACC Δ", align: "right" },
			{ header: "ARGMAX", align: "right" },
			{ header: "MS@1", align: "right" },
			{ header: "MS@64", align: "right" },
		],
		table.optimizations.map(row => [
			row.version === table.recommended ? `${row.version} *` : row.version,
			row.recipe,
			row.state,
			String(row.sizeBytes),
			number(row.sizeRatio, 2),
			row.accuracyDelta === null ? "-" : `${(row.accuracyDelta * 100).toFixed(2)}pt`,
			number(row.argmaxAgreement, 4),
			number(row.latencyMsBatch1, 3),
			number(row.latencyMsBatch64, 3),
		]),
	);
}
