/** Small building blocks every screen uses: errors, badges, meters, busy buttons, fields. */
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";

export function ErrorNote({ error }: { error: Error | null | undefined }) {
	if (!error) return null;
	return (
		<p class="error" role="alert">
			{error.message}
		</p>
	);
}

export function Loading({ what }: { what: string }) {
	return (
		<p class="muted" aria-live="polite">
			Loading {what}…
		</p>
	);
}

export function Badge({ value }: { value: string | null | undefined }) {
	const text = value ?? "—";
	return <span class={`badge badge-${text.toLowerCase().replace(/[^a-z]/g, "")}`}>{text}</span>;
}

/** A labelled bar: `value` from 0 to 1, `text` beside it. */
export function Meter({
	label,
	value,
	text,
}: {
	label: string;
	value: number | null;
	text: string;
}) {
	return (
		<div class="meter">
			<span class="meter-label">{label}</span>
			{value === null ? (
				<span class="meter-bar" aria-hidden="true" />
			) : (
				<meter min={0} max={1} value={value} aria-label={label} class="meter-bar" />
			)}
			<span class="meter-text">{text}</span>
		</div>
	);
}

/** A button that runs an async action, shows it busy and its error beside it. */
export function ActionButton(props: {
	onClick: () => Promise<unknown>;
	children: ComponentChildren;
	kind?: "primary" | "danger" | "plain";
	label?: string;
	disabled?: boolean;
	/** False for a button that changes nothing (a download): shown to every role. */
	write?: boolean;
}) {
	const [busy, setBusy] = useState(false);
	const [error, setError] = useState<Error | null>(null);
	const click = async () => {
		setBusy(true);
		setError(null);
		try {
			await props.onClick();
		} catch (err) {
			setError(err as Error);
		} finally {
			setBusy(false);
		}
	};
	return (
		<span class="action">
			<button
				type="button"
				class={`button ${props.kind ?? "plain"}`}
				onClick={click}
				disabled={busy || props.disabled}
				aria-label={props.label}
				aria-busy={busy}
				data-write={props.write === false ? undefined : "true"}
			>
				{props.children}
			</button>
			<ErrorNote error={error} />
		</span>
	);
}

export function Field({
	label,
	children,
	hint,
}: {
	label: string;
	children: ComponentChildren;
	hint?: string;
}) {
	return (
		<label class="field">
			<span class="field-label">{label}</span>
			{children}
			{hint && <span class="hint">{hint}</span>}
		</label>
	);
}

export function Section({
	title,
	children,
	actions,
}: {
	title: string;
	children: ComponentChildren;
	actions?: ComponentChildren;
}) {
	return (
		<section class="panel" aria-label={title}>
			<header class="panel-head">
				<h2>{title}</h2>
				{actions}
			</header>
			{children}
		</section>
	);
}

/** A table of `rows` with one header row; `empty` when there are none. */
export function Table({
	head,
	rows,
	empty,
	label,
}: {
	head: string[];
	rows: ComponentChildren[][];
	empty: string;
	label: string;
}) {
	if (rows.length === 0) return <p class="muted">{empty}</p>;
	return (
		<div class="table-wrap">
			<table aria-label={label}>
				<thead>
					<tr>
						{head.map(h => (
							<th scope="col" key={h}>
								{h}
							</th>
						))}
					</tr>
				</thead>
				<tbody>
					{rows.map((row, i) => (
						<tr key={i}>
							{row.map((cell, j) => (
								<td key={j}>{cell}</td>
							))}
						</tr>
					))}
				</tbody>
			</table>
		</div>
	);
}
