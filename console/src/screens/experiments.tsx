/**
 * Experiments: hyperparameter studies (docs/studies.md) by state, searcher and progress; a
 * study's trials (point, rung, objective, state, the best marked) and each trial's objective per
 * epoch in one chart, where the trials ASHA stopped are short lines. Followed live: the study's
 * Server-Sent Events reload it and its runs on each `progress`, and polling backs them up.
 */
import { useEffect } from "preact/hooks";
import { enc, itemsOf } from "../api";
import { useSession } from "../context";
import { num, short, when } from "../format";
import { usePoll } from "../hooks";
import { paramsText, trialCurves, type Run } from "../runs";
import { Chart } from "../components/chart";
import { ActionButton, Badge, ErrorNote, Loading, Section, Table } from "../components/ui";
import { POLL_MS } from "./fleet";

interface Trial {
	trial: number;
	params: Record<string, unknown>;
	rung: number;
	epochs: number;
	state: string;
	value: number | null;
	jobs: string[];
}

export interface Study {
	id: string;
	name: string;
	model: string;
	state: string;
	spec: {
		searcher?: { type?: string };
		objective?: { metric: string; direction?: string };
		budget?: { trials?: number };
	};
	best: { trial: number; value: number; version?: string | null } | null;
	error: string | null;
	trialsStarted?: number;
	trialsFinished?: number;
	epochsRun?: number;
	trials: Trial[];
	createdAt?: string;
}

const RUNNING = ["running", "registering"];

export function ExperimentsScreen({ study }: { study?: string }) {
	const { api } = useSession();
	const studies = usePoll(
		async () => itemsOf(await api.get<{ items: Study[] }>("/studies", { limit: 100 })),
		POLL_MS,
		[],
	);
	return (
		<div class="split">
			<Section title="Studies">
				<ErrorNote error={studies.error} />
				{studies.data === undefined ? (
					<Loading what="studies" />
				) : studies.data.length === 0 ? (
					<p class="muted">
						No studies. Start one with <code>POST /api/v1/studies</code> (see the docs'
						studies page).
					</p>
				) : (
					<ul class="list" aria-label="Studies">
						{studies.data.map(s => (
							<li key={s.id}>
								<a
									href={`#/experiments/${s.id}`}
									aria-current={s.id === study ? "true" : undefined}
								>
									<strong>{s.name}</strong> <Badge value={s.state} />{" "}
									<span class="muted">
										{s.model} · {s.spec.searcher?.type ?? "random"} · trials{" "}
										{s.trialsFinished ?? 0}/{s.trialsStarted ?? 0}/
										{s.spec.budget?.trials ?? "?"} · {when(s.createdAt)}
									</span>
								</a>
							</li>
						))}
					</ul>
				)}
			</Section>
			{study ? (
				<StudyDetail id={study} key={study} onChange={studies.reload} />
			) : (
				<p class="muted">Choose a study to see its trials.</p>
			)}
		</div>
	);
}

/** Reloads on each `progress` event of the study's stream, until `end`. */
function useStudyStream(id: string, onProgress: () => void) {
	const { api } = useSession();
	useEffect(() => {
		const abort = new AbortController();
		api.stream(`/studies/${enc(id)}/events`, abort.signal, message => {
			if (message.event === "progress" || message.event === "end") onProgress();
		}).catch(() => {
			// The stream is a speed-up: polling still follows the study without it.
		});
		return () => abort.abort();
	}, [id]);
}

function StudyDetail({ id, onChange }: { id: string; onChange: () => void }) {
	const { api, can } = useSession();
	const study = usePoll(() => api.get<Study>(`/studies/${enc(id)}`), POLL_MS, [id]);
	const runs = usePoll(
		async () => itemsOf(await api.get<{ items: Run[] }>("/runs", { study: id, limit: 500 })),
		POLL_MS,
		[id],
	);
	useStudyStream(id, () => {
		study.reload();
		runs.reload();
		onChange();
	});
	const s = study.data;
	if (s === undefined)
		return study.error ? <ErrorNote error={study.error} /> : <Loading what="the study" />;
	const metric = s.spec.objective?.metric ?? "val_loss";
	const curves = trialCurves(runs.data ?? [], metric);
	return (
		<div class="detail">
			<Section
				title={`Study ${s.name}`}
				actions={
					can("train") &&
					RUNNING.includes(s.state) && (
						<ActionButton
							kind="danger"
							onClick={async () => {
								await api.post(`/studies/${enc(id)}/cancel`);
								study.reload();
								onChange();
							}}
						>
							Cancel study
						</ActionButton>
					)
				}
			>
				<p>
					<Badge value={s.state} /> {s.model} · {s.spec.searcher?.type ?? "random"} ·{" "}
					{metric} ({s.spec.objective?.direction ?? "—"}) · trials {s.trialsFinished ?? 0}{" "}
					finished of {s.trialsStarted ?? 0} started, budget{" "}
					{s.spec.budget?.trials ?? "?"} · {s.epochsRun ?? 0} epochs
				</p>
				{s.best && (
					<p class="study-best">
						Best: trial {s.best.trial}, {metric} {num(s.best.value)}
						{s.best.version ? (
							<>
								{" "}
								→ version{" "}
								<a href={`#/models/${enc(s.model)}/${enc(s.best.version)}`}>
									{s.best.version}
								</a>
							</>
						) : null}{" "}
						· <a href={`#/runs/${enc(s.id)}`}>its runs</a>
					</p>
				)}
				{s.error && <p class="error">{s.error}</p>}
				<ErrorNote error={runs.error} />
				<div
					class="charts"
					data-trials={curves.series.length}
					data-epochs={curves.x.length}
				>
					<Chart
						title={`${metric} per epoch, one line per trial`}
						xLabel="epoch"
						x={curves.x}
						series={curves.series}
						height={260}
					/>
				</div>
				<h3>Trials</h3>
				<Table
					label="Trials"
					head={["Trial", "Parameters", "Rung", "Epochs", metric, "State"]}
					empty="No trial started yet."
					rows={s.trials.map(t => [
						s.best?.trial === t.trial ? (
							<strong class="best-trial">{t.trial} ★ best</strong>
						) : (
							String(t.trial)
						),
						<code>{paramsText(t.params)}</code>,
						String(t.rung),
						String(t.epochs),
						num(t.value),
						<Badge value={t.state} />,
					])}
				/>
				<p class="muted">Study {short(s.id)}</p>
			</Section>
		</div>
	);
}
