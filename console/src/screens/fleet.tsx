/**
 * Fleet: every node as a card (role, CPUs, memory, each GPU with its memory and utilisation,
 * load, the replicas it holds), polled every 3 s from GET /api/v1/nodes.
 */
import { itemsOf } from "../api";
import { useSession } from "../context";
import { bytes, num, percent } from "../format";
import { usePoll } from "../hooks";
import { Badge, ErrorNote, Loading, Meter } from "../components/ui";

interface GpuCapacity {
	index: number;
	name?: string;
	memoryTotalBytes?: number | null;
}
interface GpuLive {
	index: number;
	memoryUsedBytes: number | null;
	memoryFreeBytes: number | null;
	utilizationPercent: number | null;
}
export interface FleetNode {
	nodeID: string;
	role: string;
	available: boolean;
	unavailableReason?: string | null;
	hostname?: string;
	version?: string;
	leader?: boolean;
	capacity?: {
		cpus?: number;
		memoryBytes?: number;
		gpus?: GpuCapacity[];
		runtimes?: Array<{ name: string; executionProviders: string[] }>;
	};
	status?: {
		cpuLoad?: number;
		memoryFreeBytes?: number;
		inFlight?: number;
		eventLoopDelayMs?: number;
		gpus?: GpuLive[];
		serving?: {
			modelsLoaded?: number;
			modelBytes?: number;
			activeRequests?: number;
			models?: Array<{ key: string; pinned?: boolean; active?: number; bytes?: number }>;
		};
	} | null;
}

export const POLL_MS = 3000;

/** "tenant/iris@1.0.0" → "iris@1.0.0": a replica as its tenant knows it. */
export function replicaName(key: string): string {
	return key.slice(key.indexOf("/") + 1);
}

export function FleetScreen() {
	const { api } = useSession();
	const nodes = usePoll(async () => itemsOf(await api.get<FleetNode[]>("/nodes")), POLL_MS, []);
	if (nodes.data === undefined)
		return nodes.error ? <ErrorNote error={nodes.error} /> : <Loading what="the fleet" />;
	return (
		<>
			<ErrorNote error={nodes.error} />
			<p class="muted" aria-live="polite">
				{nodes.data.length} node{nodes.data.length === 1 ? "" : "s"},{" "}
				{nodes.data.filter(n => n.available).length} available · live, every{" "}
				{POLL_MS / 1000} s
			</p>
			<ul class="cards" aria-label="Nodes">
				{nodes.data.map(node => (
					<li key={node.nodeID}>
						<NodeCard node={node} />
					</li>
				))}
			</ul>
		</>
	);
}

function NodeCard({ node }: { node: FleetNode }) {
	const cpus = node.capacity?.cpus ?? 0;
	const memory = node.capacity?.memoryBytes ?? 0;
	const free = node.status?.memoryFreeBytes;
	const used = free !== undefined && memory > 0 ? (memory - free) / memory : null;
	const load = node.status?.cpuLoad;
	const replicas = node.status?.serving?.models ?? [];
	const liveGpus = new Map((node.status?.gpus ?? []).map(g => [g.index, g]));
	return (
		<article class="card node-card" aria-label={`Node ${node.nodeID}`} data-node={node.nodeID}>
			<header>
				<h2>{node.nodeID}</h2>
				<Badge value={node.role} />
				{node.leader && <Badge value="leader" />}
				<Badge value={node.available ? "available" : "unavailable"} />
			</header>
			{!node.available && node.unavailableReason && (
				<p class="error">{node.unavailableReason}</p>
			)}
			<dl class="facts">
				<dt>Host</dt>
				<dd>{node.hostname ?? "—"}</dd>
				<dt>CPUs</dt>
				<dd>{cpus}</dd>
				<dt>Memory</dt>
				<dd>{bytes(memory)}</dd>
				<dt>In flight</dt>
				<dd>{num(node.status?.inFlight ?? 0)}</dd>
				<dt>Runtimes</dt>
				<dd>
					{(node.capacity?.runtimes ?? [])
						.map(r => `${r.name} (${r.executionProviders.join(", ")})`)
						.join(" · ") || "—"}
				</dd>
			</dl>
			<Meter
				label="Load"
				value={load === undefined ? null : Math.min(load / Math.max(cpus, 1), 1)}
				text={load === undefined ? "—" : `${num(load, 2)} / ${cpus}`}
			/>
			<Meter
				label="Memory used"
				value={used}
				text={used === null ? "—" : `${percent(used)} of ${bytes(memory)}`}
			/>
			<h3>GPUs</h3>
			{(node.capacity?.gpus ?? []).length === 0 ? (
				<p class="muted">No GPU</p>
			) : (
				<ul class="gpus">
					{(node.capacity?.gpus ?? []).map(gpu => {
						const live = liveGpus.get(gpu.index);
						const total = gpu.memoryTotalBytes ?? null;
						const usedBytes = live?.memoryUsedBytes ?? null;
						return (
							<li key={gpu.index}>
								<span class="gpu-name">
									GPU {gpu.index}: {gpu.name ?? "unknown"}
								</span>
								<Meter
									label={`GPU ${gpu.index} memory`}
									value={total && usedBytes !== null ? usedBytes / total : null}
									text={`${bytes(usedBytes)} / ${bytes(total)}`}
								/>
								<Meter
									label={`GPU ${gpu.index} utilisation`}
									value={
										live?.utilizationPercent == null
											? null
											: live.utilizationPercent / 100
									}
									text={
										live?.utilizationPercent == null
											? "—"
											: `${live.utilizationPercent} %`
									}
								/>
							</li>
						);
					})}
				</ul>
			)}
			<h3>Replicas held ({replicas.length})</h3>
			{replicas.length === 0 ? (
				<p class="muted">None</p>
			) : (
				<ul class="replicas">
					{replicas.map(r => (
						<li key={r.key}>
							<code>{replicaName(r.key)}</code> {r.pinned ? "pinned" : "cached"} ·{" "}
							{bytes(r.bytes ?? 0)} · {r.active ?? 0} active
						</li>
					))}
				</ul>
			)}
		</article>
	);
}
