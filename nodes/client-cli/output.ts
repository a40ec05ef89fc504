/**
 * How the CLI prints: tables for people, JSON for scripts (nothing else on stdout), and
 * progress as a live bar on a terminal or as plain lines when stdout is a pipe or a file.
 */
import { SingleBar } from "cli-progress";
import type { ProgressCallback, TrainingEvent } from "../../lib/client";

export interface Output {
	/** `--json`: print only the JSON result. */
	json: boolean;
	/** stdout is a terminal: live bars instead of lines. */
	tty: boolean;
	write(text: string): void;
}

export function stdoutOutput(json: boolean): Output {
	return {
		json,
		tty: Boolean(process.stdout.isTTY),
		write: text => process.stdout.write(text),
	};
}

/** The result as JSON (with `--json`) or as `human()` says. */
export function emit(out: Output, result: unknown, human: () => string): void {
	out.write(out.json ? JSON.stringify(result ?? null, null, 2) + "\n" : human() + "\n");
}

/** Rows as a plain-text table under `columns` (cells stringified; null and undefined blank). */
export function table(rows: ReadonlyArray<Record<string, unknown>>, columns: string[]): string {
	if (rows.length === 0) return "(none)";
	const cells = rows.map(row => columns.map(c => cell(row[c])));
	const widths = columns.map((c, i) => Math.max(c.length, ...cells.map(r => r[i].length)));
	const line = (values: string[]) =>
		values
			.map((v, i) => v.padEnd(widths[i]))
			.join("  ")
			.trimEnd();
	return [line(columns.map(c => c.toUpperCase())), ...cells.map(line)].join("\n");
}

function cell(value: unknown): string {
	if (value === null || value === undefined) return "";
	if (Array.isArray(value) && value.every(v => typeof v !== "object")) return value.join(",");
	if (typeof value === "object") return JSON.stringify(value);
	return String(value);
}

export function formatBytes(bytes: number): string {
	const units = ["B", "KiB", "MiB", "GiB", "TiB"];
	let value = bytes;
	let unit = 0;
	while (value >= 1024 && unit < units.length - 1) {
		value /= 1024;
		unit++;
	}
	return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * A byte progress reporter for an upload of `label`: a bar on a terminal, else a line at each
 * tenth crossed (and at the end); silent with `--json`. `done()` stops the bar.
 */
export function uploadProgress(
	out: Output,
	label: string,
): { onProgress: ProgressCallback; done(): void } {
	if (out.json) return { onProgress: () => undefined, done: () => undefined };
	if (out.tty) {
		const bar = new SingleBar({
			format: `${label} |{bar}| {percentage}% {sentText}/{totalText} ETA {eta_formatted}`,
			stream: process.stdout,
			hideCursor: true,
		});
		let started = false;
		return {
			onProgress({ sent, total }) {
				const payload = { sentText: formatBytes(sent), totalText: formatBytes(total) };
				if (!started) bar.start(Math.max(total, 1), 0, payload);
				started = true;
				bar.update(sent, payload);
			},
			done: () => bar.stop(),
		};
	}
	let lastTenth = -1;
	return {
		onProgress({ sent, total }) {
			const tenth = total === 0 ? 10 : Math.floor((sent / total) * 10);
			if (tenth === lastTenth) return;
			lastTenth = tenth;
			const percent = total === 0 ? 100 : Math.floor((sent / total) * 100);
			out.write(`${label}: ${formatBytes(sent)} of ${formatBytes(total)} (${percent}%)\n`);
		},
		done: () => undefined,
	};
}

function metricsText(metrics: Record<string, number>): string {
	return Object.entries(metrics)
		.map(([name, value]) => `${name}=${Number.isInteger(value) ? value : value.toFixed(4)}`)
		.join(" ");
}

export function formatDuration(ms: number): string {
	const s = Math.max(0, Math.round(ms / 1000));
	return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
}

/**
 * Shows a training job's events as they come: a bar over the epochs with the loss and the
 * server's ETA on a terminal, else one line per epoch; silent with `--json`.
 */
export function trainingProgress(out: Output): {
	onEvent(event: TrainingEvent): void;
	done(): void;
} {
	let bar: SingleBar | undefined;
	let lastState: string | undefined;
	return {
		onEvent(event) {
			if (out.json) return;
			if (event.type === "state") {
				const line = `job ${event.state}${event.nodeID ? ` on ${event.nodeID}` : ""}`;
				// The stream may say the same state twice (stored, then live); print it once.
				if (!bar && line !== lastState) out.write(line + "\n");
				lastState = line;
				return;
			}
			if (event.type !== "progress") return;
			const loss = event.metrics.loss;
			const eta = formatDuration(event.etaMs ?? 0);
			if (!out.tty) {
				out.write(
					`epoch ${event.epoch}/${event.epochs} ${metricsText(event.metrics)} eta ${eta}\n`,
				);
				return;
			}
			const payload = { loss: loss === undefined ? "-" : loss.toFixed(4), etaText: eta };
			if (!bar) {
				bar = new SingleBar({
					format: "epoch {value}/{total} |{bar}| loss {loss} ETA {etaText}",
					stream: process.stdout,
					hideCursor: true,
				});
				bar.start(event.epochs, 0, payload);
			}
			bar.update(event.epoch, payload);
		},
		done: () => bar?.stop(),
	};
}
