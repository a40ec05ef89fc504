/**
 * The usage report: the query's parameters checked (`from`, `to`, `granularity`), hourly rows
 * rolled up to days, and the CSV form. Pure.
 */
import { InvalidInputError } from "../errors";
import { addCounts, dayOf, USAGE_FIELDS, zeroCounts, type UsageRow } from "./usage-counts";

export type Granularity = "hour" | "day";

export interface UsageRange {
	from: Date;
	to: Date;
	granularity: Granularity;
}

/** The longest range one query may span, by granularity (bounded answers). */
export const MAX_RANGE_MS: Readonly<Record<Granularity, number>> = {
	hour: 31 * 86_400_000,
	day: 366 * 86_400_000,
};

/** A usage row of a report: `period` is the hour's or the day's start. */
export type UsageReportRow = Omit<UsageRow, "hour"> & { period: string };

function parseInstant(name: string, value: string | undefined, fallback: number): Date {
	if (value === undefined || value === "") return new Date(fallback);
	const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
	if (!Number.isFinite(ms))
		throw new InvalidInputError(
			`'${name}' must be an ISO 8601 time (2026-01-31T10:00:00Z) or ms since the epoch, not '${value}'.`,
		);
	return new Date(ms);
}

/**
 * The range of `from` and `to` (default: the last 24 hours up to now), both rounded down to the
 * granularity's boundary (`to` rounded up), checked to be in order and not too long.
 */
export function usageRange(
	params: { from?: string; to?: string; granularity?: string },
	now: number,
): UsageRange {
	const granularity = params.granularity ?? "hour";
	if (granularity !== "hour" && granularity !== "day")
		throw new InvalidInputError(`'granularity' is 'hour' or 'day', not '${granularity}'.`);
	const step = granularity === "hour" ? 3_600_000 : 86_400_000;
	const to = parseInstant("to", params.to, now);
	const from = parseInstant("from", params.from, to.getTime() - 86_400_000);
	const start = Math.floor(from.getTime() / step) * step;
	const end = Math.ceil(to.getTime() / step) * step;
	if (end <= start)
		throw new InvalidInputError(`'from' (${from.toISOString()}) must come before 'to'.`);
	if (end - start > MAX_RANGE_MS[granularity])
		throw new InvalidInputError(
			`A usage query spans at most ${MAX_RANGE_MS[granularity] / 86_400_000} days at granularity '${granularity}'; narrow 'from'…'to' or use granularity=day.`,
		);
	return { from: new Date(start), to: new Date(end), granularity };
}

/** Hourly rows as the report's rows: unchanged for hours, summed per UTC day for days. */
export function rollUp(rows: readonly UsageRow[], granularity: Granularity): UsageReportRow[] {
	if (granularity === "hour") return rows.map(({ hour, ...rest }) => ({ ...rest, period: hour }));
	const days = new Map<string, UsageReportRow>();
	for (const row of rows) {
		const period = new Date(dayOf(Date.parse(row.hour))).toISOString();
		const key = `${row.tenant}\u0000${row.model}\u0000${row.version}\u0000${period}`;
		let day = days.get(key);
		if (day === undefined) {
			day = {
				tenant: row.tenant,
				model: row.model,
				version: row.version,
				period,
				...zeroCounts(),
			};
			days.set(key, day);
		}
		addCounts(day, row);
	}
	return [...days.values()].sort((a, b) => a.period.localeCompare(b.period));
}

const CSV_COLUMNS = ["period", "tenant", "model", "version", ...USAGE_FIELDS] as const;

/** A CSV field, quoted when it holds a comma, a quote or a line break. */
function csvField(value: string | number): string {
	const text = String(value);
	return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The report's rows as CSV with a header line. */
export function usageCsv(rows: readonly UsageReportRow[]): string {
	const lines = [CSV_COLUMNS.join(",")];
	for (const row of rows) lines.push(CSV_COLUMNS.map(c => csvField(row[c])).join(","));
	return lines.join("\n") + "\n";
}
