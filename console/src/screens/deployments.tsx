/**
 * Deployments: replicas ready/desired per node, the traffic split with a canary slider,
 * promote / rollback / shadow, autoscaling settings and its decisions, request rate and latency
 * (from the Open Inference Protocol statistics, polled), health and drift.
 */
import { useRef, useState } from "preact/hooks";
import { enc, itemsOf } from "../api";
import { useSession } from "../context";
import { num, when } from "../format";
import { go, usePoll } from "../hooks";
import { Chart } from "../components/chart";
import { NumberField, SelectField } from "../components/fields";
import { ActionButton, Badge, ErrorNote, Loading, Section, Table } from "../components/ui";
import type { Version } from "./models";
import { POLL_MS } from "./fleet";

interface TrafficEntry {
	version: string;
	weight: number;
}
export interface Deployment {
	model: string;
	status: string;
	statusReason?: string | null;
	replicas: number;
	minReplicas?: number;
	maxReplicas?: number;
	readyReplicas: number;
	traffic: TrafficEntry[];
	previousTraffic?: TrafficEntry[] | null;
	shadow?: string | null;
	autoscaling?: {
		targetOngoingRequests?: number;
		upscaleDelayS?: number;
		downscaleDelayS?: number;
	} | null;
	placements?: Array<{
		nodeID: string;
		gpuIndex: number | null;
		state: string;
		updatedAt?: string;
	}>;
	health?: Health | null;
	updatedAt?: string;
}
interface Health {
	score: number;
	status: string;
	parts: Array<{ name: string; score: number | null; detail: string }>;
}
interface DriftAnswer {
	windows: Array<{
		id: number;
		startedAt: string;
		endedAt: string;
		rows: number;
		status: string;
		report?: { drifted?: string[]; features?: Array<{ name: string; psi: number }> };
	}>;
}
interface CloudEventItem {
	cursor: string;
	event: { type: string; time: string; subject?: string; data?: Record<string, unknown> };
}
interface ModelStats {
	model_stats: Array<{
		version: string;
		inference_count: number;
		inference_stats: {
			success: { count: number; ns: number };
			fail: { count: number; ns: number };
		};
	}>;
}

export function DeploymentsScreen({ model }: { model?: string }) {
	const { api, can } = useSession();
	const list = usePoll(
		async () => itemsOf(await api.get<{ items: Deployment[] }>("/deployments", { limit: 500 })),
		POLL_MS,
		[],
	);
	return (
		<div class="split">
			<Section title="Deployments">
				<ErrorNote error={list.error} />
				{list.data === undefined ? (
					<Loading what="deployments" />
				) : list.data.length === 0 ? (
					<p class="muted">Nothing deployed yet.</p>
				) : (
					<ul class="list" aria-label="Deployments">
						{list.data.map(d => (
							<li key={d.model}>
								<a
									href={`#/deployments/${enc(d.model)}`}
									aria-current={d.model === model ? "true" : undefined}
								>
									<strong>{d.model}</strong> <Badge value={d.status} />{" "}
									<span class="muted">
										{d.readyReplicas}/{d.replicas} ready ·{" "}
										{d.traffic
											.map(t => `${t.version} ${t.weight} %`)
											.join(", ")}
									</span>
								</a>
							</li>
						))}
					</ul>
				)}
				{can("deployments.write") && (
					<NewDeploymentForm
						onCreated={name => {
							list.reload();
							go("deployments", name);
						}}
					/>
				)}
			</Section>
			{model ? (
				<DeploymentDetail
					model={model}
					key={model}
					onGone={() => {
						list.reload();
						go("deployments");
					}}
				/>
			) : (
				<p class="muted">Choose a deployment.</p>
			)}
		</div>
	);
}

/** Versions of `model` that may serve traffic. */
function useServable(model: string) {
	const { api } = useSession();
	return usePoll(
		async () =>
			model === ""
				? []
				: itemsOf(
						await api.get<{ items: Version[] }>(`/models/${enc(model)}/versions`, {
							limit: 500,
						}),
					).filter(v => v.state === "Validated" || v.state === "Deployed"),
		5000,
		[model],
	);
}

function NewDeploymentForm({ onCreated }: { onCreated: (model: string) => void }) {
	const { api } = useSession();
	const models = usePoll(
		async () =>
			itemsOf(await api.get<{ items: Array<{ name: string }> }>("/models", { limit: 500 })),
		10_000,
		[],
	);
	const [model, setModel] = useState("");
	const chosen = model || models.data?.[0]?.name || "";
	const versions = useServable(chosen);
	const [version, setVersion] = useState("");
	const [replicas, setReplicas] = useState(1);
	const chosenVersion = version || versions.data?.[0]?.version || "";
	return (
		<details class="form-box">
			<summary>Deploy a model</summary>
			<form onSubmit={e => e.preventDefault()} aria-label="Deploy a model">
				<SelectField
					label="Model"
					name="model"
					value={chosen}
					options={(models.data ?? []).map(m => m.name)}
					onChange={value => {
						setModel(value);
						setVersion("");
					}}
				/>
				<SelectField
					label="Version"
					hint="Validated or Deployed versions"
					name="version"
					value={chosenVersion}
					options={(versions.data ?? []).map(v => v.version)}
					onChange={setVersion}
				/>
				<NumberField
					label="Replicas"
					min={0}
					max={64}
					value={replicas}
					onInput={setReplicas}
				/>
				<ActionButton
					kind="primary"
					disabled={!chosen || !chosenVersion}
					onClick={async () => {
						await api.post("/deployments", {
							model: chosen,
							version: chosenVersion,
							replicas,
						});
						onCreated(chosen);
					}}
				>
					Deploy
				</ActionButton>
			</form>
		</details>
	);
}

function DeploymentDetail({ model, onGone }: { model: string; onGone: () => void }) {
	const { api, can } = useSession();
	const deployment = usePoll(() => api.get<Deployment>(`/deployments/${enc(model)}`), POLL_MS, [
		model,
	]);
	const d = deployment.data;
	if (d === undefined)
		return deployment.error ? (
			<ErrorNote error={deployment.error} />
		) : (
			<Loading what="the deployment" />
		);
	const write = can("deployments.write");
	return (
		<div class="detail">
			<Section
				title={`Deployment ${model}`}
				actions={
					write && (
						<ActionButton
							kind="danger"
							onClick={async () => {
								await api.del(`/deployments/${enc(model)}`);
								onGone();
							}}
						>
							Undeploy
						</ActionButton>
					)
				}
			>
				<ErrorNote error={deployment.error} />
				<p>
					<Badge value={d.status} />{" "}
					<span data-ready={`${d.readyReplicas}/${d.replicas}`}>
						{d.readyReplicas} of {d.replicas} replicas ready
					</span>
					{d.statusReason ? <span class="error"> · {d.statusReason}</span> : null}
				</p>
				<Table
					label="Replicas by node"
					head={["Node", "State", "GPU", "Since"]}
					empty="No replica placed yet."
					rows={(d.placements ?? []).map(p => [
						<code>{p.nodeID}</code>,
						<Badge value={p.state} />,
						p.gpuIndex === null ? "—" : `GPU ${p.gpuIndex}`,
						when(p.updatedAt),
					])}
				/>
				{write && (
					<ScaleForm model={model} replicas={d.replicas} onDone={deployment.reload} />
				)}
			</Section>
			<TrafficPanel deployment={d} onChange={deployment.reload} />
			<AutoscalingPanel deployment={d} onChange={deployment.reload} />
			<RequestCharts model={model} />
			<HealthPanel model={model} health={d.health ?? null} />
		</div>
	);
}

function ScaleForm({
	model,
	replicas,
	onDone,
}: {
	model: string;
	replicas: number;
	onDone: () => void;
}) {
	const { api } = useSession();
	const [count, setCount] = useState(replicas);
	return (
		<div class="row">
			<NumberField label="Replicas" min={0} max={64} value={count} onInput={setCount} />
			<ActionButton
				onClick={async () => {
					await api.post(`/deployments/${enc(model)}/scale`, { replicas: count });
					onDone();
				}}
			>
				Scale
			</ActionButton>
		</div>
	);
}

/** The split as bars, and for writers the canary slider, promote, rollback and shadow. */
function TrafficPanel({ deployment, onChange }: { deployment: Deployment; onChange: () => void }) {
	const { api, can } = useSession();
	const model = deployment.model;
	const servable = useServable(model);
	const stable = deployment.traffic[0]?.version ?? "";
	const current =
		deployment.traffic.length > 1 ? deployment.traffic[deployment.traffic.length - 1] : null;
	const others = (servable.data ?? []).map(v => v.version).filter(v => v !== stable);
	const [canary, setCanary] = useState(current?.version ?? "");
	const [weight, setWeight] = useState(current?.weight ?? 10);
	const [shadow, setShadow] = useState("");
	const canaryVersion = canary || current?.version || others[0] || "";
	const write = can("deployments.write");
	return (
		<Section title="Traffic">
			<div class="traffic" role="list" aria-label="Traffic split">
				{deployment.traffic.map(t => (
					<div
						role="listitem"
						class="traffic-bar"
						key={t.version}
						style={{ flexGrow: Math.max(t.weight, 1) }}
						data-version={t.version}
						data-weight={t.weight}
					>
						{t.version} · {t.weight} %
					</div>
				))}
			</div>
			<p class="muted">
				Shadow: {deployment.shadow ?? "none"}
				{deployment.previousTraffic ? " · a rollback restores the previous split" : ""}
			</p>
			{write && (
				<>
					<div class="row">
						<SelectField
							label="Canary version"
							name="canary"
							value={canaryVersion}
							options={
								others.length === 0
									? [{ value: "", text: "no other Validated version" }]
									: others
							}
							onChange={setCanary}
						/>
						<label class="field slider">
							<span class="field-label">
								Canary weight <output for="canary-weight">{weight} %</output>
							</span>
							<input
								id="canary-weight"
								type="range"
								min={0}
								max={100}
								step={1}
								value={weight}
								onInput={e =>
									setWeight(Number((e.target as HTMLInputElement).value))
								}
							/>
						</label>
						<ActionButton
							kind="primary"
							disabled={canaryVersion === ""}
							onClick={async () => {
								await api.patch(`/deployments/${enc(model)}`, {
									traffic: [
										{ version: stable, weight: 100 - weight },
										{ version: canaryVersion, weight },
									],
								});
								onChange();
							}}
						>
							Apply split
						</ActionButton>
					</div>
					<div class="row">
						<ActionButton
							disabled={current === null}
							onClick={async () => {
								await api.post(`/deployments/${enc(model)}/promote`, {});
								onChange();
							}}
						>
							Promote canary
						</ActionButton>
						<ActionButton
							disabled={!deployment.previousTraffic}
							onClick={async () => {
								await api.post(`/deployments/${enc(model)}/rollback`, {});
								onChange();
							}}
						>
							Roll back
						</ActionButton>
						<SelectField
							label="Shadow version"
							name="shadow"
							value={shadow}
							options={[{ value: "", text: "none" }, ...others]}
							onChange={setShadow}
						/>
						<ActionButton
							onClick={async () => {
								await api.patch(`/deployments/${enc(model)}`, {
									shadow: shadow || null,
								});
								onChange();
							}}
						>
							Set shadow
						</ActionButton>
					</div>
				</>
			)}
		</Section>
	);
}

function AutoscalingPanel({
	deployment,
	onChange,
}: {
	deployment: Deployment;
	onChange: () => void;
}) {
	const { api, can } = useSession();
	const model = deployment.model;
	const a = deployment.autoscaling;
	const [form, setForm] = useState({
		minReplicas: deployment.minReplicas ?? 1,
		maxReplicas: deployment.maxReplicas ?? Math.max(deployment.replicas, 4),
		targetOngoingRequests: a?.targetOngoingRequests ?? 2,
		upscaleDelayS: a?.upscaleDelayS ?? 3,
		downscaleDelayS: a?.downscaleDelayS ?? 30,
	});
	const decisions = usePoll(
		async () =>
			itemsOf(
				await api.get<{ items: CloudEventItem[] }>("/events", {
					type: "autoscaling.triggered",
					order: "desc",
					limit: 500,
				}),
			)
				.filter(item => item.event.subject === `deployments/${model}`)
				.slice(0, 10),
		10_000,
		[model],
	);
	const field = (name: keyof typeof form, label: string, min: number, max: number, step = 1) => (
		<NumberField
			label={label}
			min={min}
			max={max}
			step={step}
			value={form[name]}
			onInput={value => setForm({ ...form, [name]: value })}
		/>
	);
	return (
		<Section title="Autoscaling">
			<p>
				{a
					? `On: ${deployment.minReplicas}–${deployment.maxReplicas} replicas, ${a.targetOngoingRequests} ongoing requests per replica, up after ${a.upscaleDelayS} s, down after ${a.downscaleDelayS} s.`
					: "Off: a fixed replica count."}
			</p>
			{can("deployments.write") && (
				<form
					class="row"
					onSubmit={e => e.preventDefault()}
					aria-label="Autoscaling settings"
				>
					{field("minReplicas", "Min replicas", 0, 64)}
					{field("maxReplicas", "Max replicas", 0, 64)}
					{field("targetOngoingRequests", "Target ongoing requests", 0.1, 100000, 0.1)}
					{field("upscaleDelayS", "Upscale delay (s)", 0, 3600)}
					{field("downscaleDelayS", "Downscale delay (s)", 0, 86400)}
					<ActionButton
						onClick={async () => {
							const { minReplicas, maxReplicas, ...autoscaling } = form;
							await api.patch(`/deployments/${enc(model)}`, {
								minReplicas,
								maxReplicas,
								autoscaling,
							});
							onChange();
						}}
					>
						Save autoscaling
					</ActionButton>
					{a && (
						<ActionButton
							onClick={async () => {
								await api.patch(`/deployments/${enc(model)}`, {
									autoscaling: null,
								});
								onChange();
							}}
						>
							Turn off
						</ActionButton>
					)}
				</form>
			)}
			<h3>Decisions</h3>
			<ErrorNote error={decisions.error} />
			<Table
				label="Autoscaling decisions"
				head={["When", "From", "To", "Why"]}
				empty="No decision yet."
				rows={(decisions.data ?? []).map(item => [
					when(item.event.time),
					num(item.event.data?.from),
					num(item.event.data?.to),
					String(item.event.data?.reason ?? "—"),
				])}
			/>
		</Section>
	);
}

/** Request rate and mean latency per poll, from the cumulative Triton statistics of the model. */
function RequestCharts({ model }: { model: string }) {
	const { api } = useSession();
	const history = useRef<{
		t: number[];
		rate: number[];
		latency: Array<number | null>;
		last: { at: number; count: number; ns: number } | null;
	}>({ t: [], rate: [], latency: [], last: null });
	const stats = usePoll(
		async () => {
			const answer = await api.get<ModelStats>(`/v2/models/${enc(model)}/stats`);
			const count = answer.model_stats.reduce(
				(sum, s) => sum + s.inference_stats.success.count + s.inference_stats.fail.count,
				0,
			);
			const ns = answer.model_stats.reduce(
				(sum, s) => sum + s.inference_stats.success.ns + s.inference_stats.fail.ns,
				0,
			);
			const now = Date.now() / 1000;
			const h = history.current;
			if (h.last !== null) {
				const seconds = Math.max(now - h.last.at, 0.001);
				const calls = Math.max(count - h.last.count, 0);
				h.t.push(now);
				h.rate.push(calls / seconds);
				h.latency.push(calls > 0 ? (ns - h.last.ns) / calls / 1e6 : null);
				if (h.t.length > 120) {
					h.t.shift();
					h.rate.shift();
					h.latency.shift();
				}
			}
			h.last = { at: now, count, ns };
			return count;
		},
		POLL_MS,
		[model],
	);
	const h = history.current;
	return (
		<Section title="Requests">
			<ErrorNote error={stats.error} />
			<p class="muted">
				{stats.data ?? 0} requests since the replicas loaded · sampled every{" "}
				{POLL_MS / 1000} s
			</p>
			<div class="charts">
				<Chart
					title="Request rate (per s)"
					xLabel="time"
					time
					x={[...h.t]}
					series={[{ label: "requests/s", values: [...h.rate] }]}
					height={160}
				/>
				<Chart
					title="Mean latency (ms)"
					xLabel="time"
					time
					x={[...h.t]}
					series={[{ label: "ms", values: [...h.latency] }]}
					height={160}
				/>
			</div>
		</Section>
	);
}

function HealthPanel({ model, health }: { model: string; health: Health | null }) {
	const { api } = useSession();
	const drift = usePoll(
		() => api.get<DriftAnswer>(`/deployments/${enc(model)}/drift`, { limit: 50 }),
		15_000,
		[model],
	);
	const windows = [...(drift.data?.windows ?? [])].reverse();
	return (
		<Section title="Health and drift">
			{health ? (
				<>
					<p>
						Health <strong>{num(health.score, 0)}</strong> / 100{" "}
						<Badge value={health.status} />
					</p>
					<Table
						label="Health parts"
						head={["Part", "Score", "From"]}
						empty=""
						rows={health.parts.map(p => [p.name, num(p.score, 0), p.detail])}
					/>
				</>
			) : (
				<p class="muted">
					No health score yet (it needs captured traffic: see monitoring settings).
				</p>
			)}
			<ErrorNote error={drift.error} />
			{windows.length > 0 ? (
				<Chart
					title="Largest feature PSI per window"
					xLabel="time"
					time
					x={windows.map(w => Date.parse(w.endedAt) / 1000)}
					series={[
						{
							label: "PSI",
							values: windows.map(w =>
								Math.max(0, ...(w.report?.features ?? []).map(f => f.psi)),
							),
						},
					]}
					height={160}
				/>
			) : (
				<p class="muted">No drift window yet.</p>
			)}
		</Section>
	);
}
