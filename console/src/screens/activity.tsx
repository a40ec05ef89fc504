/** Usage per model (requests per hour, chart and table) and the tenant's domain events, live. */
import { useEffect, useState } from "preact/hooks";
import { itemsOf } from "../api";
import { useSession } from "../context";
import { num, when } from "../format";
import { usePoll } from "../hooks";
import { Chart } from "../components/chart";
import { ErrorNote, Loading, Section, Table } from "../components/ui";

interface UsageRow {
	period: string;
	model: string;
	version: string;
	requests: number;
	rows: number;
	errors: number;
	cpuMs: number;
	trainingCpuS?: number;
}
interface EventItem {
	cursor: string;
	event: { id: string; type: string; time: string; subject?: string };
}

export function ActivityScreen() {
	return (
		<div class="stack">
			<Usage />
			<Events />
		</div>
	);
}

function Usage() {
	const { api } = useSession();
	const usage = usePoll(
		() =>
			api.get<{ usage: UsageRow[] }>("/usage", {
				from: new Date(Date.now() - 24 * 3600_000).toISOString(),
			}),
		30_000,
		[],
	);
	if (usage.data === undefined)
		return usage.error ? <ErrorNote error={usage.error} /> : <Loading what="usage" />;
	const rows = usage.data.usage ?? [];
	const periods = [...new Set(rows.map(r => r.period))].sort();
	const requests = periods.map(p =>
		rows.filter(r => r.period === p).reduce((sum, r) => sum + (r.requests ?? 0), 0),
	);
	const errors = periods.map(p =>
		rows.filter(r => r.period === p).reduce((sum, r) => sum + (r.errors ?? 0), 0),
	);
	return (
		<Section title="Usage, last 24 hours">
			{periods.length > 0 && (
				<Chart
					title="Requests per hour"
					xLabel="hour"
					time
					x={periods.map(p => Date.parse(p) / 1000)}
					series={[
						{ label: "requests", values: requests },
						{ label: "errors", values: errors },
					]}
					height={180}
				/>
			)}
			<Table
				label="Usage by model"
				head={[
					"Hour",
					"Model",
					"Version",
					"Requests",
					"Rows",
					"Errors",
					"CPU ms",
					"Training CPU s",
				]}
				empty="No usage in the last 24 hours."
				rows={rows.map(r => [
					when(r.period),
					r.model,
					r.version,
					num(r.requests),
					num(r.rows),
					num(r.errors),
					num(r.cpuMs, 0),
					num(r.trainingCpuS ?? 0, 1),
				])}
			/>
		</Section>
	);
}

/** How many events the list shows: the newest, those streamed since first. */
const EVENTS_SHOWN = 100;

function Events() {
	const { api } = useSession();
	const recent = usePoll(
		async () =>
			itemsOf(
				await api.get<{ items: EventItem[] }>("/events", {
					order: "desc",
					limit: EVENTS_SHOWN,
				}),
			),
		0,
		[],
	);
	const [live, setLive] = useState<EventItem[]>([]);
	const [error, setError] = useState<Error | null>(null);
	useEffect(() => {
		const abort = new AbortController();
		api.stream("/events/stream", abort.signal, message => {
			if (!message.id) return;
			const event = JSON.parse(message.data) as EventItem["event"];
			setLive(items => [{ cursor: message.id!, event }, ...items].slice(0, 200));
		}).catch((err: Error) => {
			if (err.name !== "AbortError") setError(err);
		});
		return () => abort.abort();
	}, []);
	const seen = new Set<string>();
	const all = [...live, ...(recent.data ?? [])]
		.filter(item => !seen.has(item.cursor) && seen.add(item.cursor))
		.slice(0, EVENTS_SHOWN);
	return (
		<Section title="Events">
			<p class="muted">The newest first; new ones appear as they are written.</p>
			<ErrorNote error={error ?? recent.error} />
			<Table
				label="Events"
				head={["When", "Type", "Subject"]}
				empty="No events yet."
				rows={all.map(item => [
					when(item.event.time),
					<code>{item.event.type.replace(/^io\.modelfleet\./, "")}</code>,
					item.event.subject ?? "—",
				])}
			/>
		</Section>
	);
}
