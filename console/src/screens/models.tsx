/**
 * Models: the tenant's models with search and tags; a model's versions with lifecycle state,
 * metrics, lineage, schema, aliases and files; transition, alias, upload and download buttons
 * for the keys that may use them.
 */
import { useState } from "preact/hooks";
import { enc, itemsOf } from "../api";
import { useSession } from "../context";
import { bytes, num, short, when } from "../format";
import { go, usePoll } from "../hooks";
import { TRANSITIONS, UPLOAD_STATES } from "../lifecycle";
import { FileField, SelectField, TextField } from "../components/fields";
import { ActionButton, Badge, ErrorNote, Loading, Section, Table } from "../components/ui";

interface Model {
	name: string;
	task: string;
	framework: string;
	description?: string;
	tags?: Record<string, string>;
	createdAt?: string;
}
interface Tensor {
	name: string;
	shape: number[];
	datatype: string;
	features?: Array<{ name: string }>;
}
export interface Version {
	version: string;
	state: string;
	format: string;
	description?: string;
	createdAt?: string;
	metrics?: Array<{ name: string; value: number; dataset?: { split?: string } }>;
	lineage?: {
		trainingJob?: string;
		datasetSha256?: string;
		seed?: number;
		createdByKey?: string | null;
	} | null;
	schema?: { inputs?: Tensor[]; outputs?: Tensor[] };
	labels?: string[];
	artifact?: { sha256: string; size: number } | null;
}
interface Alias {
	alias: string;
	version: string;
}
interface VersionFile {
	path: string;
	size: number;
	format: string;
	kind: string;
}

export function ModelsScreen({ model, version }: { model?: string; version?: string }) {
	return (
		<div class="split">
			<ModelList selected={model} />
			{model ? (
				<ModelDetail name={model} version={version} key={model} />
			) : (
				<p class="muted">Choose a model to see its versions.</p>
			)}
		</div>
	);
}

function ModelList({ selected }: { selected?: string }) {
	const { api, can } = useSession();
	const [search, setSearch] = useState("");
	const [tag, setTag] = useState("");
	const models = usePoll(
		async () =>
			itemsOf(
				await api.get<{ items: Model[] }>("/models", { limit: 500, tag: tag || undefined }),
			),
		10_000,
		[tag],
	);
	const shown = (models.data ?? []).filter(
		m => m.name.includes(search) || (m.description ?? "").includes(search),
	);
	return (
		<Section title="Models">
			<div class="filters">
				<TextField
					label="Search"
					type="search"
					value={search}
					onInput={setSearch}
					placeholder="name or description"
				/>
				<TextField
					label="Tag"
					type="text"
					value={tag}
					onChange={setTag}
					placeholder="key or key=value"
				/>
			</div>
			<ErrorNote error={models.error} />
			{models.data === undefined ? (
				<Loading what="models" />
			) : shown.length === 0 ? (
				<p class="muted">No models{search || tag ? " match" : " yet"}.</p>
			) : (
				<ul class="list" aria-label="Models">
					{shown.map(m => (
						<li key={m.name}>
							<a
								href={`#/models/${enc(m.name)}`}
								aria-current={m.name === selected ? "true" : undefined}
							>
								<strong>{m.name}</strong>{" "}
								<span class="muted">
									{m.task} · {m.framework}
								</span>
								{Object.entries(m.tags ?? {}).map(([k, v]) => (
									<span class="tag" key={k}>
										{k}={v}
									</span>
								))}
							</a>
						</li>
					))}
				</ul>
			)}
			{can("models.write") && (
				<NewModelForm
					onCreated={name => {
						models.reload();
						go("models", name);
					}}
				/>
			)}
		</Section>
	);
}

function NewModelForm({ onCreated }: { onCreated: (name: string) => void }) {
	const { api } = useSession();
	const [name, setName] = useState("");
	const [task, setTask] = useState("classification");
	const [framework, setFramework] = useState("onnx");
	return (
		<details class="form-box">
			<summary>New model</summary>
			<form onSubmit={e => e.preventDefault()} aria-label="New model">
				<TextField
					label="Name"
					name="name"
					required
					maxLength={128}
					value={name}
					onInput={setName}
				/>
				<SelectField
					label="Task"
					value={task}
					options={["classification", "regression", "other"]}
					onChange={setTask}
				/>
				<SelectField
					label="Framework"
					value={framework}
					options={["onnx", "tfjs", "xgboost", "sklearn", "pytorch", "other"]}
					onChange={setFramework}
				/>
				<ActionButton
					kind="primary"
					onClick={async () => {
						await api.post("/models", { name, task, framework });
						onCreated(name);
						setName("");
					}}
				>
					Create model
				</ActionButton>
			</form>
		</details>
	);
}

function ModelDetail({ name, version }: { name: string; version?: string }) {
	const { api, can } = useSession();
	const model = usePoll(() => api.get<Model>(`/models/${enc(name)}`), 0, [name]);
	const versions = usePoll(
		async () =>
			itemsOf(
				await api.get<{ items: Version[] }>(`/models/${enc(name)}/versions`, {
					limit: 500,
				}),
			),
		5000,
		[name],
	);
	const aliases = usePoll(
		async () =>
			itemsOf(await api.get<{ items: Alias[] } | Alias[]>(`/models/${enc(name)}/aliases`)),
		5000,
		[name],
	);
	const selected = version ?? versions.data?.[0]?.version;
	const reload = () => {
		versions.reload();
		aliases.reload();
	};
	return (
		<div class="detail">
			<Section title={`Model ${name}`}>
				<ErrorNote error={model.error} />
				{model.data && (
					<p>
						{model.data.task} · {model.data.framework} · created{" "}
						{when(model.data.createdAt)}
						{model.data.description ? ` · ${model.data.description}` : ""}
					</p>
				)}
				<ErrorNote error={versions.error} />
				{versions.data === undefined ? (
					<Loading what="versions" />
				) : (
					<Table
						label="Versions"
						head={["Version", "State", "Format", "Metrics", "Created"]}
						empty="No versions yet."
						rows={versions.data.map(v => [
							<a
								href={`#/models/${enc(name)}/${enc(v.version)}`}
								aria-current={v.version === selected ? "true" : undefined}
							>
								{v.version}
							</a>,
							<Badge value={v.state} />,
							v.format,
							(v.metrics ?? [])
								.slice(0, 3)
								.map(m => `${m.name} ${num(m.value)}`)
								.join(", ") || "—",
							when(v.createdAt),
						])}
					/>
				)}
				{can("models.write") && (
					<UploadForm
						model={name}
						onDone={v => {
							reload();
							go("models", name, v);
						}}
					/>
				)}
			</Section>
			{selected && (
				<VersionDetail
					model={name}
					version={selected}
					aliases={(aliases.data ?? []).filter(a => a.version === selected)}
					onChange={reload}
					key={selected}
				/>
			)}
		</div>
	);
}

function UploadForm({ model, onDone }: { model: string; onDone: (version: string) => void }) {
	const { api } = useSession();
	const [file, setFile] = useState<File | null>(null);
	const [version, setVersion] = useState("");
	const [state, setState] = useState<string>("Validated");
	return (
		<details class="form-box">
			<summary>Upload a version</summary>
			<form onSubmit={e => e.preventDefault()} aria-label="Upload a version">
				<FileField
					label="Model file"
					hint="ONNX, TF.js tar or XGBoost JSON"
					name="file"
					onFile={setFile}
				/>
				<TextField
					label="Version"
					hint="a semver; empty: the next minor"
					name="version"
					value={version}
					onInput={setVersion}
					placeholder="1.0.0"
				/>
				<SelectField
					label="State"
					value={state}
					options={UPLOAD_STATES}
					onChange={setState}
				/>
				<ActionButton
					kind="primary"
					disabled={file === null}
					onClick={async () => {
						const created = await api.upload<Version>(
							`/models/${enc(model)}/versions/upload`,
							file!,
							{
								...(version ? { version } : { bump: "minor" }),
								fileName: file!.name,
								state,
							},
							"application/octet-stream",
						);
						onDone(created.version);
					}}
				>
					Upload
				</ActionButton>
			</form>
		</details>
	);
}

function VersionDetail({
	model,
	version,
	aliases,
	onChange,
}: {
	model: string;
	version: string;
	aliases: Alias[];
	onChange: () => void;
}) {
	const { api, can } = useSession();
	const detail = usePoll(
		() => api.get<Version>(`/models/${enc(model)}/versions/${enc(version)}`),
		0,
		[model, version],
	);
	const files = usePoll(
		async () =>
			(
				await api.get<{ files: VersionFile[] }>(
					`/models/${enc(model)}/versions/${enc(version)}/files`,
				)
			).files,
		0,
		[model, version],
	);
	const [to, setTo] = useState("");
	const [alias, setAlias] = useState("");
	const v = detail.data;
	if (v === undefined)
		return detail.error ? <ErrorNote error={detail.error} /> : <Loading what="the version" />;
	const moves = TRANSITIONS[v.state] ?? [];
	const refresh = () => {
		detail.reload();
		onChange();
	};
	return (
		<Section title={`Version ${version}`}>
			<p>
				<Badge value={v.state} /> {v.format} · {bytes(v.artifact?.size)} · created{" "}
				{when(v.createdAt)}
			</p>
			{v.description && <p class="muted">{v.description}</p>}
			{can("versions.transition") && moves.length > 0 && (
				<div class="row">
					<SelectField
						label="Move to"
						value={to || moves[0]}
						options={moves}
						onChange={setTo}
					/>
					<ActionButton
						kind="primary"
						onClick={async () => {
							await api.post(
								`/models/${enc(model)}/versions/${enc(version)}/transition`,
								{ to: to || moves[0], reason: "console" },
							);
							refresh();
						}}
					>
						Transition
					</ActionButton>
				</div>
			)}
			<h3>Metrics</h3>
			<Table
				label="Metrics"
				head={["Metric", "Value", "Split"]}
				empty="No metrics."
				rows={(v.metrics ?? []).map(m => [
					m.name,
					num(m.value, 4),
					m.dataset?.split ?? "—",
				])}
			/>
			<h3>Lineage</h3>
			{v.lineage ? (
				<dl class="facts">
					<dt>Training job</dt>
					<dd>
						{v.lineage.trainingJob ? (
							<a href={`#/training/${v.lineage.trainingJob}`}>
								{short(v.lineage.trainingJob)}
							</a>
						) : (
							"—"
						)}
					</dd>
					<dt>Dataset (sha256)</dt>
					<dd>
						<code>{short(v.lineage.datasetSha256, 16)}</code>
					</dd>
					<dt>Seed</dt>
					<dd>{v.lineage.seed ?? "—"}</dd>
				</dl>
			) : (
				<p class="muted">Uploaded, not trained here.</p>
			)}
			<h3>Schema</h3>
			<Table
				label="Schema"
				head={["", "Name", "Type", "Shape", "Features"]}
				empty="No schema."
				rows={[
					...(v.schema?.inputs ?? []).map(t => [
						"input",
						t.name,
						t.datatype,
						JSON.stringify(t.shape),
						(t.features ?? []).map(f => f.name).join(", ") || "—",
					]),
					...(v.schema?.outputs ?? []).map(t => [
						"output",
						t.name,
						t.datatype,
						JSON.stringify(t.shape),
						v.labels?.join(", ") ?? "—",
					]),
				]}
			/>
			<h3>Aliases</h3>
			<p>
				{aliases.length === 0 ? (
					<span class="muted">None</span>
				) : (
					aliases.map(a => (
						<span class="tag" key={a.alias}>
							{a.alias}
							{can("models.write") && (
								<ActionButton
									label={`Remove alias ${a.alias}`}
									onClick={async () => {
										await api.del(
											`/models/${enc(model)}/aliases/${enc(a.alias)}`,
										);
										onChange();
									}}
								>
									×
								</ActionButton>
							)}
						</span>
					))
				)}
			</p>
			{can("models.write") && (
				<div class="row">
					<TextField
						label="Alias"
						value={alias}
						onInput={setAlias}
						placeholder="champion"
					/>
					<ActionButton
						disabled={alias === ""}
						onClick={async () => {
							await api.put(`/models/${enc(model)}/aliases/${enc(alias)}`, {
								version,
							});
							setAlias("");
							onChange();
						}}
					>
						Point alias here
					</ActionButton>
				</div>
			)}
			<h3>Files</h3>
			<ErrorNote error={files.error} />
			<Table
				label="Files"
				head={["File", "Kind", "Format", "Size", ""]}
				empty="No files."
				rows={(files.data ?? []).map(f => [
					<code>{f.path}</code>,
					f.kind,
					f.format,
					bytes(f.size),
					<ActionButton
						write={false}
						label={`Download ${f.path}`}
						onClick={() =>
							api.download(
								`/models/${enc(model)}/versions/${enc(version)}/files/${f.path.split("/").map(enc).join("/")}`,
								f.path.split("/").pop()!,
							)
						}
					>
						Download
					</ActionButton>,
				])}
			/>
		</Section>
	);
}
