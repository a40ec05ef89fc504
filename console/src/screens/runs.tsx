/**
 * Runs: every training job as an experiment run (docs/studies.md#runs), filtered by study,
 * model and tag and sorted by a metric. Tick runs to compare them: parameters and final metrics
 * side by side (the differing parameters marked), and their curves overlaid in one chart; a
 * key that may train edits the selected runs' tags.
 */
import { useEffect, useState } from "preact/hooks";
import { enc, itemsOf } from "../api";
import { useSession } from "../context";
import { num, short, when } from "../format";
import { usePoll } from "../hooks";
import { differs, epochMetricNames, parseTags, runCurves, toggled, type Run } from "../runs";
import { Chart } from "../components/chart";
import { SelectField, TextField, type SelectOption } from "../components/fields";
import { ActionButton, Badge, ErrorNote, Loading, Section, Table } from "../components/ui";
import type { Study } from "./experiments";
import { POLL_MS } from "./fleet";

interface Comparison {
	runs: Array<{ id: string; model: string; state: string; tags: string[] }>;
	params: Record<string, unknown[]>;
	differing: string[];
	metrics: Record<string, Array<number | null>>;
}

const SORT_METRICS = ["val_accuracy", "val_loss", "accuracy", "loss", "val_mae", "mae"];

/** Newest first, or by a final metric. */
const SORT_OPTIONS: readonly SelectOption[] = [
	{ value: "createdAt", text: "newest" },
	...SORT_METRICS.map(m => ({ value: m, text: m })),
];

const ORDER_OPTIONS: readonly SelectOption[] = [
	{ value: "desc", text: "descending" },
	{ value: "asc", text: "ascending" },
];

const runLabel = (run: { id: string; study?: Run["study"] }) =>
	run.study ? `${short(run.id)} (trial ${run.study.trial})` : short(run.id);

export function RunsScreen({ study: initialStudy }: { study?: string }) {
	const { api } = useSession();
	const [study, setStudy] = useState(initialStudy ?? "");
	const [model, setModel] = useState("");
	const [tag, setTag] = useState("");
	const [sort, setSort] = useState("createdAt");
	const [order, setOrder] = useState("desc");
	const [selected, setSelected] = useState<string[]>([]);
	useEffect(() => setStudy(initialStudy ?? ""), [initialStudy]);
	const studies = usePoll(
		async () => itemsOf(await api.get<{ items: Study[] }>("/studies", { limit: 100 })),
		10_000,
		[],
	);
	const runs = usePoll(
		async () =>
			itemsOf(
				await api.get<{ items: Run[] }>("/runs", {
					study: study || undefined,
					model: model.trim() || undefined,
					tag: tag.trim() || undefined,
					sort: sort === "createdAt" ? undefined : `metric:${sort}`,
					order,
					limit: 200,
				}),
			),
		POLL_MS,
		[study, model, tag, sort, order],
	);
	const chosen = selected
		.map(id => runs.data?.find(r => r.id === id))
		.filter((r): r is Run => r !== undefined);
	return (
		<div class="stack">
			<Section title="Runs">
				<form class="filters" aria-label="Filter runs" onSubmit={e => e.preventDefault()}>
					<SelectField
						label="Study"
						name="study"
						value={study}
						options={[
							{ value: "", text: "all" },
							...(studies.data ?? []).map(s => ({ value: s.id, text: s.name })),
						]}
						onChange={setStudy}
					/>
					<TextField label="Model" name="model" value={model} onChange={setModel} />
					<TextField label="Tag" name="tag" value={tag} onChange={setTag} />
					<SelectField
						label="Sort by"
						name="sort"
						value={sort}
						options={SORT_OPTIONS}
						onChange={setSort}
					/>
					<SelectField
						label="Order"
						name="order"
						value={order}
						options={ORDER_OPTIONS}
						onChange={setOrder}
					/>
				</form>
				<ErrorNote error={runs.error} />
				{runs.data === undefined ? (
					<Loading what="runs" />
				) : (
					<Table
						label="Runs"
						head={[
							"Compare",
							"Run",
							"Model",
							"State",
							"Study trial",
							sort === "createdAt" ? "val_accuracy" : sort,
							"Tags",
							"Created",
						]}
						empty="No runs match."
						rows={runs.data.map(r => [
							<input
								type="checkbox"
								class="run-select"
								value={r.id}
								checked={selected.includes(r.id)}
								onChange={() => setSelected(toggled(selected, r.id))}
								aria-label={`Compare run ${short(r.id)}`}
							/>,
							<code>{short(r.id)}</code>,
							r.model,
							<Badge value={r.state} />,
							r.study
								? r.study.rung < 0
									? `${r.study.trial} (registers the best)`
									: `${r.study.trial} (rung ${r.study.rung})`
								: "—",
							num(r.metrics[sort === "createdAt" ? "val_accuracy" : sort]),
							r.tags.join(", ") || "—",
							when(r.createdAt),
						])}
					/>
				)}
				<p class="muted" aria-live="polite">
					{selected.length === 0
						? "Tick two or more runs to compare them."
						: `${selected.length} selected.`}
				</p>
			</Section>
			{chosen.length > 0 && (
				<Selected runs={chosen} onTagged={runs.reload} key={chosen.map(r => r.id).join()} />
			)}
		</div>
	);
}

function Selected({ runs, onTagged }: { runs: Run[]; onTagged: () => void }) {
	const { api, can } = useSession();
	const ids = runs.map(r => r.id).join(",");
	const comparison = usePoll(
		async () =>
			runs.length >= 2
				? api.get<Comparison>("/runs/compare", { ids })
				: Promise.resolve(null),
		0,
		[ids],
	);
	const metrics = epochMetricNames(runs);
	const [metric, setMetric] = useState(metrics[0] ?? "");
	const curves = runCurves(runs, metric, runLabel);
	const c = comparison.data;
	return (
		<Section title="Compare runs">
			{runs.length >= 2 && (
				<>
					<ErrorNote error={comparison.error} />
					{c ? <CompareTable comparison={c} /> : <Loading what="the comparison" />}
				</>
			)}
			<SelectField
				label="Curve"
				name="curve"
				value={metric}
				options={metrics}
				onChange={setMetric}
			/>
			<div class="charts" data-runs={curves.series.length}>
				<Chart
					title={`${metric} per epoch`}
					xLabel="epoch"
					x={curves.x}
					series={curves.series}
				/>
			</div>
			{can("train") && (
				<>
					<h3>Tags</h3>
					{runs.map(r => (
						<TagEditor key={r.id} run={r} onSaved={onTagged} />
					))}
				</>
			)}
		</Section>
	);
}

function CompareTable({ comparison: c }: { comparison: Comparison }) {
	const head = ["", ...c.runs.map(r => runLabel(r))];
	const cell = (v: unknown) =>
		v === null || v === undefined
			? "—"
			: typeof v === "number"
				? String(Number(v.toPrecision(4)))
				: JSON.stringify(v);
	const [onlyDiffering, setOnlyDiffering] = useState(false);
	const shown = Object.entries(c.params).filter(
		([name, values]) => !onlyDiffering || c.differing.includes(name) || differs(values),
	);
	return (
		<>
			<h3>Parameters</h3>
			<p class="muted">
				{c.differing.length} of {Object.keys(c.params).length} differ (marked).
			</p>
			<label class="check">
				<input
					type="checkbox"
					name="only-differing"
					checked={onlyDiffering}
					onChange={() => setOnlyDiffering(!onlyDiffering)}
				/>{" "}
				Only the parameters that differ
			</label>
			<div class="table-wrap">
				<table aria-label="Compared parameters" class="compare">
					<thead>
						<tr>
							{head.map((h, i) => (
								<th scope="col" key={i}>
									{h || "Parameter"}
								</th>
							))}
						</tr>
					</thead>
					<tbody>
						{shown.map(([name, values]) => {
							const differing = c.differing.includes(name) || differs(values);
							return (
								<tr key={name} class={differing ? "differs" : undefined}>
									<th scope="row">
										{name}
										{differing && <span class="differs-mark"> ≠ differs</span>}
									</th>
									{values.map((v, i) => (
										<td key={i}>{cell(v)}</td>
									))}
								</tr>
							);
						})}
					</tbody>
				</table>
			</div>
			<h3>Final metrics</h3>
			<Table
				label="Compared metrics"
				head={["Metric", ...head.slice(1)]}
				empty="No metrics yet."
				rows={Object.entries(c.metrics).map(([name, values]) => [
					name,
					...values.map(v => num(v)),
				])}
			/>
		</>
	);
}

function TagEditor({ run, onSaved }: { run: Run; onSaved: () => void }) {
	const { api } = useSession();
	const [text, setText] = useState(run.tags.join(", "));
	return (
		<form
			class="tag-editor"
			aria-label={`Tags of run ${short(run.id)}`}
			onSubmit={e => e.preventDefault()}
		>
			<TextField
				label={`Tags of ${runLabel(run)}`}
				hint="comma-separated"
				name="tags"
				value={text}
				onInput={setText}
			/>
			<ActionButton
				onClick={async () => {
					await api.patch(`/runs/${enc(run.id)}`, { tags: parseTags(text) });
					onSaved();
				}}
			>
				Save tags
			</ActionButton>
		</form>
	);
}
