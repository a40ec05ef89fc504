/**
 * Training: jobs by state; a job's live loss and metric curves per epoch (its Server-Sent
 * Events), checkpoint, node moves and failures; a form to train a model on a dataset.
 */
import { useEffect, useState } from "preact/hooks";
import { enc, itemsOf, ModelfleetApiError } from "../api";
import { useSession } from "../context";
import { bytes, num, short, when } from "../format";
import { go, usePoll } from "../hooks";
import { checkJobForm, JOB_FORM_BOUNDS, OPTIMIZERS, type JobForm } from "../job-form";
import { Chart } from "../components/chart";
import { SelectField } from "../components/fields";
import { ActionButton, Badge, ErrorNote, Field, Loading, Section, Table } from "../components/ui";
import type { Dataset } from "./datasets";
import { POLL_MS } from "./fleet";

interface Progress {
	epoch: number;
	epochs?: number;
	metrics: Record<string, number>;
	nodeID?: string;
	at?: string;
}
interface Job {
	id: string;
	model: string;
	state: string;
	epoch: number;
	nodeID?: string | null;
	attempts?: number;
	backend?: string | null;
	failures?: Array<{ at?: string; nodeID?: string; error?: string; reason?: string }>;
	checkpoint?: { epoch: number; size: number; sha256: string } | null;
	progress?: Progress[];
	result?: {
		version?: string;
		state?: string;
		metrics?: Record<string, number>;
		bestEpoch?: number;
		stoppedEarly?: boolean;
	} | null;
	error?: string | null;
	waitingReason?: string | null;
	spec?: { epochs?: number; dataset?: string; labelColumn?: string };
	createdAt?: string;
	finishedAt?: string | null;
}

const STATES = ["", "queued", "running", "completed", "failed", "cancelled"];

export function TrainingScreen({ job }: { job?: string }) {
	const { api, can } = useSession();
	const [state, setState] = useState("");
	const jobs = usePoll(
		async () =>
			itemsOf(
				await api.get<{ items: Job[] }>("/training-jobs", {
					state: state || undefined,
					limit: 100,
				}),
			),
		POLL_MS,
		[state],
	);
	return (
		<div class="split">
			<Section title="Jobs">
				<SelectField
					label="State"
					value={state}
					options={STATES.map(s => ({ value: s, text: s || "all" }))}
					onChange={setState}
				/>
				<ErrorNote error={jobs.error} />
				{jobs.data === undefined ? (
					<Loading what="jobs" />
				) : jobs.data.length === 0 ? (
					<p class="muted">No jobs.</p>
				) : (
					<ul class="list" aria-label="Training jobs">
						{jobs.data.map(j => (
							<li key={j.id}>
								<a
									href={`#/training/${j.id}`}
									aria-current={j.id === job ? "true" : undefined}
								>
									<strong>{j.model}</strong> <Badge value={j.state} />{" "}
									<span class="muted">
										{short(j.id)} · epoch {j.epoch}
										{j.spec?.epochs ? `/${j.spec.epochs}` : ""} ·{" "}
										{when(j.createdAt)}
									</span>
								</a>
							</li>
						))}
					</ul>
				)}
				{can("train") && (
					<SubmitForm
						onSubmitted={id => {
							jobs.reload();
							go("training", id);
						}}
					/>
				)}
			</Section>
			{job ? (
				<JobDetail id={job} key={job} onEnd={jobs.reload} />
			) : (
				<p class="muted">Choose a job to follow it.</p>
			)}
		</div>
	);
}

function SubmitForm({ onSubmitted }: { onSubmitted: (id: string) => void }) {
	const { api } = useSession();
	const models = usePoll(
		async () =>
			itemsOf(await api.get<{ items: Array<{ name: string }> }>("/models", { limit: 500 })),
		10_000,
		[],
	);
	const datasets = usePoll(
		async () => itemsOf(await api.get<{ items: Dataset[] }>("/datasets", { limit: 500 })),
		10_000,
		[],
	);
	const [form, setForm] = useState<JobForm>({
		target: "",
		dataset: "",
		labelColumn: "",
		epochs: "50",
		batchSize: "32",
		learningRate: "0.01",
		optimizer: "adam",
		seed: "",
	});
	const [apiError, setApiError] = useState<ModelfleetApiError | null>(null);
	const [touched, setTouched] = useState(false);
	const values = {
		...form,
		target: form.target || models.data?.[0]?.name || "",
		dataset: form.dataset || datasets.data?.[0]?.ref || "",
	};
	const dataset = datasets.data?.find(d => d.ref === values.dataset);
	const columns = dataset?.report?.columns?.map(c => c.name) ?? [];
	if (dataset?.labelColumn && !columns.includes(dataset.labelColumn))
		columns.push(dataset.labelColumn);
	values.labelColumn = form.labelColumn || dataset?.labelColumn || "";
	const { errors, spec } = checkJobForm(values);
	const set = (name: keyof JobForm) => (value: string) => setForm({ ...form, [name]: value });
	const problem = (name: keyof JobForm) => {
		const message = touched ? errors[name] : undefined;
		const fromApi =
			apiError?.data && (apiError.data as { field?: string }).field === name
				? apiError.message
				: undefined;
		const text = message ?? fromApi;
		return text ? (
			<span class="error" id={`job-${name}-error`} role="alert">
				{text}
			</span>
		) : null;
	};
	const numberField = (name: keyof typeof JOB_FORM_BOUNDS, label: string, step: string) => (
		<Field label={label}>
			<input
				name={name}
				type="number"
				step={step}
				min={JOB_FORM_BOUNDS[name].min}
				max={JOB_FORM_BOUNDS[name].max}
				value={form[name]}
				onInput={e => set(name)(e.currentTarget.value)}
				aria-invalid={touched && errors[name] ? "true" : undefined}
				aria-describedby={touched && errors[name] ? `job-${name}-error` : undefined}
			/>
			{problem(name)}
		</Field>
	);
	return (
		<details class="form-box" open={(datasets.data?.length ?? 0) > 0}>
			<summary>Train a model</summary>
			<form onSubmit={e => e.preventDefault()} aria-label="Train a model" noValidate>
				<SelectField
					label="Model to train"
					hint="gets the trained version"
					name="target"
					value={values.target}
					options={(models.data ?? []).map(m => m.name)}
					onChange={set("target")}
				>
					{problem("target")}
				</SelectField>
				<SelectField
					label="Dataset"
					name="dataset"
					value={values.dataset}
					options={(datasets.data ?? []).map(d => d.ref)}
					onChange={dataset => setForm({ ...form, dataset, labelColumn: "" })}
				>
					{problem("dataset")}
				</SelectField>
				<SelectField
					label="Label column"
					name="labelColumn"
					value={values.labelColumn}
					options={[{ value: "", text: "choose…" }, ...columns]}
					onChange={set("labelColumn")}
				>
					{problem("labelColumn")}
				</SelectField>
				{numberField("epochs", "Epochs", "1")}
				{numberField("batchSize", "Batch size", "1")}
				{numberField("learningRate", "Learning rate", "any")}
				{numberField("seed", "Seed (optional)", "1")}
				<SelectField
					label="Optimizer"
					name="optimizer"
					value={form.optimizer}
					options={OPTIMIZERS}
					onChange={set("optimizer")}
				/>
				<ActionButton
					kind="primary"
					onClick={async () => {
						setTouched(true);
						setApiError(null);
						if (Object.keys(errors).length > 0)
							throw new Error(`Check ${Object.keys(errors).join(", ")}`);
						try {
							const created = await api.post<Job>("/training-jobs", spec);
							onSubmitted(created.id);
						} catch (err) {
							if (err instanceof ModelfleetApiError) setApiError(err);
							throw err;
						}
					}}
				>
					Start training
				</ActionButton>
			</form>
		</details>
	);
}

/** The job's epochs as they stream in: the ones so far first, then one per epoch, then `end`. */
function useJobStream(id: string, onEnd: () => void) {
	const { api } = useSession();
	const [epochs, setEpochs] = useState<Progress[]>([]);
	const [live, setLive] = useState<string>("connecting");
	const [error, setError] = useState<Error | null>(null);
	useEffect(() => {
		const abort = new AbortController();
		const seen: Progress[] = [];
		setEpochs([]);
		api.stream(`/training-jobs/${enc(id)}/events`, abort.signal, message => {
			if (message.event === "progress") {
				const p = JSON.parse(message.data) as Progress;
				const i = seen.findIndex(e => e.epoch >= p.epoch);
				// A job resumed from a checkpoint repeats epochs after it: the newest wins.
				if (i >= 0) seen.splice(i);
				seen.push(p);
				setEpochs([...seen]);
			} else if (message.event === "state")
				setLive((JSON.parse(message.data) as { state: string }).state);
			else if (message.event === "end") {
				setLive("ended");
				onEnd();
			}
		}).then(
			() => setLive(l => (l === "ended" ? l : "closed")),
			(err: Error) => {
				if (err.name !== "AbortError") setError(err);
			},
		);
		return () => abort.abort();
	}, [id]);
	return { epochs, live, error };
}

function JobDetail({ id, onEnd }: { id: string; onEnd: () => void }) {
	const { api, can } = useSession();
	const job = usePoll(() => api.get<Job>(`/training-jobs/${enc(id)}`), POLL_MS, [id]);
	const stream = useJobStream(id, () => {
		job.reload();
		onEnd();
	});
	const j = job.data;
	if (j === undefined)
		return job.error ? <ErrorNote error={job.error} /> : <Loading what="the job" />;
	const x = stream.epochs.map(e => e.epoch);
	const names = [...new Set(stream.epochs.flatMap(e => Object.keys(e.metrics)))];
	const losses = names.filter(n => /loss|mae|mse/.test(n));
	const scores = names.filter(n => !losses.includes(n));
	const moves = movesOf(j.progress ?? stream.epochs);
	return (
		<div class="detail">
			<Section
				title={`Job ${short(j.id)} → ${j.model}`}
				actions={
					can("train") &&
					(j.state === "queued" || j.state === "running") && (
						<ActionButton
							kind="danger"
							onClick={async () => {
								await api.post(`/training-jobs/${enc(id)}/cancel`);
								job.reload();
							}}
						>
							Cancel job
						</ActionButton>
					)
				}
			>
				<p>
					<Badge value={j.state} /> epoch {j.epoch}
					{j.spec?.epochs ? ` of ${j.spec.epochs}` : ""} · on {j.nodeID ?? "—"} ·{" "}
					{j.backend ?? ""} · attempts {j.attempts ?? 0} · stream:{" "}
					<span class="stream-state">{stream.live}</span>
				</p>
				{j.waitingReason && <p class="muted">Waiting: {j.waitingReason}</p>}
				{j.error && <p class="error">{j.error}</p>}
				<ErrorNote error={stream.error} />
				<div class="charts" data-epochs={x.length}>
					<Chart
						title="Loss per epoch"
						xLabel="epoch"
						x={x}
						series={losses.map(n => ({
							label: n,
							values: stream.epochs.map(e => e.metrics[n] ?? null),
						}))}
					/>
					<Chart
						title="Metrics per epoch"
						xLabel="epoch"
						x={x}
						series={scores.map(n => ({
							label: n,
							values: stream.epochs.map(e => e.metrics[n] ?? null),
						}))}
					/>
				</div>
				{j.result && (
					<p>
						Result: version{" "}
						{j.result.version ? (
							<a href={`#/models/${enc(j.model)}/${enc(j.result.version)}`}>
								{j.result.version}
							</a>
						) : (
							"—"
						)}{" "}
						<Badge value={j.result.state} /> · best epoch {j.result.bestEpoch ?? "—"}
						{j.result.stoppedEarly ? " (stopped early)" : ""} ·{" "}
						{Object.entries(j.result.metrics ?? {})
							.map(([k, v]) => `${k} ${num(v)}`)
							.join(", ")}
					</p>
				)}
				<h3>Checkpoint</h3>
				<p>
					{j.checkpoint
						? `epoch ${j.checkpoint.epoch}, ${bytes(j.checkpoint.size)}, sha256 ${short(j.checkpoint.sha256, 12)}`
						: "None yet."}
				</p>
				<h3>Node moves</h3>
				<Table
					label="Node moves"
					head={["From epoch", "Node"]}
					empty="No moves."
					rows={moves.map(m => [String(m.epoch), <code>{m.nodeID}</code>])}
				/>
				<h3>Failures</h3>
				<Table
					label="Failures"
					head={["When", "Node", "Why"]}
					empty="No failures."
					rows={(j.failures ?? []).map(f => [
						when(f.at),
						f.nodeID ?? "—",
						f.error ?? f.reason ?? "—",
					])}
				/>
			</Section>
		</div>
	);
}

/** Where the job ran: the first epoch on each node it moved to. */
function movesOf(progress: Progress[]): Array<{ epoch: number; nodeID: string }> {
	const moves: Array<{ epoch: number; nodeID: string }> = [];
	for (const p of progress)
		if (p.nodeID && moves[moves.length - 1]?.nodeID !== p.nodeID)
			moves.push({ epoch: p.epoch, nodeID: p.nodeID });
	return moves;
}
