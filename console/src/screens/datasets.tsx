/** Datasets: every version with its validation report (column statistics, label balance, warnings); upload. */
import { useState } from "preact/hooks";
import { enc, itemsOf } from "../api";
import { useSession } from "../context";
import { bytes, num, percent, short, when } from "../format";
import { go, usePoll } from "../hooks";
import { FileField, TextField } from "../components/fields";
import { ActionButton, ErrorNote, Loading, Section, Table } from "../components/ui";

interface Column {
	name: string;
	type: string;
	missing: number;
	distinct?: number;
	mean?: number;
	std?: number;
	min?: number;
	max?: number;
}
export interface Dataset {
	id: string;
	name: string;
	version: number;
	ref: string;
	rows: number;
	size?: number;
	format?: string;
	sha256?: string;
	labelColumn?: string | null;
	createdAt?: string;
	report?: {
		rows?: number;
		columns?: Column[];
		warnings?: Array<string | { message?: string; column?: string; type?: string }>;
		label?: {
			type: string;
			column: string;
			classes?: Array<{ value: string; count: number; fraction: number }>;
			imbalanceRatio?: number;
		} | null;
	};
}

export function DatasetsScreen({ dataset }: { dataset?: string }) {
	const { api, can } = useSession();
	const list = usePoll(
		async () => itemsOf(await api.get<{ items: Dataset[] }>("/datasets", { limit: 500 })),
		10_000,
		[],
	);
	const selected = list.data?.find(d => d.ref === dataset);
	return (
		<div class="split">
			<Section title="Datasets">
				<ErrorNote error={list.error} />
				{list.data === undefined ? (
					<Loading what="datasets" />
				) : (
					<Table
						label="Dataset versions"
						head={["Version", "Rows", "Size", "Label", "Created"]}
						empty="No datasets yet."
						rows={list.data.map(d => [
							<a
								href={`#/datasets/${enc(d.ref)}`}
								aria-current={d.ref === dataset ? "true" : undefined}
							>
								{d.ref}
							</a>,
							num(d.rows),
							bytes(d.size),
							d.labelColumn ?? "—",
							when(d.createdAt),
						])}
					/>
				)}
				{can("train") && (
					<UploadDataset
						onDone={ref => {
							list.reload();
							go("datasets", ref);
						}}
					/>
				)}
			</Section>
			{selected ? (
				<Report dataset={selected} />
			) : (
				<p class="muted">Choose a dataset version to see its report.</p>
			)}
		</div>
	);
}

function UploadDataset({ onDone }: { onDone: (ref: string) => void }) {
	const { api } = useSession();
	const [file, setFile] = useState<File | null>(null);
	const [name, setName] = useState("");
	const [label, setLabel] = useState("");
	return (
		<details class="form-box">
			<summary>Upload a dataset</summary>
			<form onSubmit={e => e.preventDefault()} aria-label="Upload a dataset">
				<FileField
					label="File"
					hint="CSV with a header row, or NDJSON"
					name="dataset-file"
					accept=".csv,.ndjson,.jsonl,text/csv"
					onFile={setFile}
				/>
				<TextField label="Name" name="dataset-name" value={name} onInput={setName} />
				<TextField
					label="Label column"
					hint="optional"
					name="dataset-label"
					value={label}
					onInput={setLabel}
				/>
				<ActionButton
					kind="primary"
					disabled={file === null || name === ""}
					onClick={async () => {
						const ndjson = /\.(nd)?jsonl?$/i.test(file!.name);
						const created = await api.upload<Dataset>(
							"/datasets",
							file!,
							{
								name,
								labelColumn: label || undefined,
								format: ndjson ? "ndjson" : "csv",
							},
							ndjson ? "application/x-ndjson" : "text/csv",
						);
						onDone(created.ref);
					}}
				>
					Upload dataset
				</ActionButton>
			</form>
		</details>
	);
}

function Report({ dataset }: { dataset: Dataset }) {
	const report = dataset.report ?? {};
	const warnings = (report.warnings ?? []).map(w =>
		typeof w === "string" ? w : [w.column, w.message ?? w.type].filter(Boolean).join(": "),
	);
	return (
		<div class="detail">
			<Section title={`Dataset ${dataset.ref}`}>
				<p>
					{num(dataset.rows)} rows · {bytes(dataset.size)} · {dataset.format ?? "csv"} ·
					sha256 <code>{short(dataset.sha256, 16)}</code>
				</p>
				<h3>Warnings</h3>
				{warnings.length === 0 ? (
					<p class="muted">None.</p>
				) : (
					<ul class="warnings">
						{warnings.map(w => (
							<li key={w}>{w}</li>
						))}
					</ul>
				)}
				{report.label && (
					<>
						<h3>Label {report.label.column}</h3>
						<Table
							label="Label classes"
							head={["Class", "Rows", "Share"]}
							empty="Numeric label."
							rows={(report.label.classes ?? []).map(c => [
								c.value,
								num(c.count),
								percent(c.fraction, 1),
							])}
						/>
					</>
				)}
				<h3>Columns</h3>
				<Table
					label="Column statistics"
					head={["Column", "Type", "Missing", "Distinct", "Mean", "Std", "Min", "Max"]}
					empty="No columns."
					rows={(report.columns ?? []).map(c => [
						c.name,
						c.type,
						num(c.missing),
						num(c.distinct),
						num(c.mean),
						num(c.std),
						num(c.min),
						num(c.max),
					])}
				/>
			</Section>
		</div>
	);
}
