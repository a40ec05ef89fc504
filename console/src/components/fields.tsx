/**
 * The form fields the screens repeat: a text input, a number input, a select and a file picker,
 * each inside a labelled Field (ui.tsx) and handing its callback the new value, not the event.
 */
import type { ComponentChildren } from "preact";
import { Field } from "./ui";

interface Labelled {
	label: string;
	hint?: string;
	name?: string;
}

/**
 * A text input. `onInput` hears every keystroke; `onChange` only a committed value (on Enter or
 * leaving the field), for filters that would otherwise query the API on each key.
 */
export function TextField({
	label,
	hint,
	name,
	type,
	value,
	placeholder,
	required,
	maxLength,
	onInput,
	onChange,
}: Labelled & {
	type?: "text" | "search";
	value: string;
	placeholder?: string;
	required?: boolean;
	maxLength?: number;
	onInput?: (value: string) => void;
	onChange?: (value: string) => void;
}) {
	const input = {
		name,
		required,
		maxLength,
		value,
		placeholder,
		onInput:
			onInput && ((e: { currentTarget: HTMLInputElement }) => onInput(e.currentTarget.value)),
		onChange:
			onChange &&
			((e: { currentTarget: HTMLInputElement }) => onChange(e.currentTarget.value)),
	};
	return (
		<Field label={label} hint={hint}>
			{/* Preact types an input's attributes by its type: each branch names one. */}
			{type === "search" ? (
				<input type="search" {...input} />
			) : (
				<input type={type} {...input} />
			)}
		</Field>
	);
}

/** A number input from `min` to `max` (in steps of `step` where given). */
export function NumberField({
	label,
	hint,
	name,
	value,
	min,
	max,
	step,
	onInput,
}: Labelled & {
	value: number;
	min: number;
	max: number;
	step?: number;
	onInput: (value: number) => void;
}) {
	return (
		<Field label={label} hint={hint}>
			<input
				type="number"
				name={name}
				min={min}
				max={max}
				step={step}
				value={value}
				onInput={e => onInput(Number(e.currentTarget.value))}
			/>
		</Field>
	);
}

/** An option shown as its value, or one with a text of its own. */
export type SelectOption = string | { value: string; text: string };

/** A select of `options`; `children` follow it in the field (a problem with the choice). */
export function SelectField({
	label,
	hint,
	name,
	value,
	options,
	onChange,
	children,
}: Labelled & {
	value: string;
	options: readonly SelectOption[];
	onChange: (value: string) => void;
	children?: ComponentChildren;
}) {
	return (
		<Field label={label} hint={hint}>
			<select name={name} value={value} onChange={e => onChange(e.currentTarget.value)}>
				{options.map(option =>
					typeof option === "string" ? (
						<option key={option}>{option}</option>
					) : (
						<option key={option.value} value={option.value}>
							{option.text}
						</option>
					),
				)}
			</select>
			{children}
		</Field>
	);
}

/** A file picker; `onFile` gets the file chosen, or null when the choice is cleared. */
export function FileField({
	label,
	hint,
	name,
	accept,
	onFile,
}: Labelled & { accept?: string; onFile: (file: File | null) => void }) {
	return (
		<Field label={label} hint={hint}>
			<input
				type="file"
				name={name}
				accept={accept}
				onChange={e => onFile(e.currentTarget.files?.[0] ?? null)}
			/>
		</Field>
	);
}
