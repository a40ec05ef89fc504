/**
 * Gathers one column's cells as they stream in, without keeping their text: every cell becomes
 * a number (NaN when missing or not a number) and, while the column has at most
 * `maxCategories` distinct values, a dictionary code. When the file ends the column decides
 * what it is (see `finish`), so a column is never held as strings.
 */
import type { ColumnKind, DatasetColumn, ValueCount } from "./dataset";
import { datasetError } from "./dataset-errors";

/** A cell as a reader gives it: CSV text, or an NDJSON number, string or null. */
export type Cell = string | number | null;

/** A plain decimal number: what a numeric cell looks like (no hex, no Infinity). */
const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

interface Seen {
	row: number;
	line: number;
	text: string;
}

export interface ColumnBuilderOptions {
	missingValues: ReadonlySet<string>;
	maxCategories: number;
	/** Declared by the caller; inferred from the values when absent. */
	kind?: ColumnKind;
}

const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export class ColumnBuilder {
	private numbers = new Float64Array(1024);
	private codes: Int32Array | null = new Int32Array(1024);
	private dictionary: Map<string, number> | null = new Map();
	private counts: number[] = [];
	private size = 0;
	private missing = 0;
	private numeric = 0;
	private text = 0;
	private firstText: Seen | null = null;
	private firstMissing: Omit<Seen, "text"> | null = null;

	constructor(
		readonly name: string,
		private readonly options: ColumnBuilderOptions,
	) {}

	/** Rows added so far. */
	get length(): number {
		return this.size;
	}

	/** Adds the cell of the next row; `row` and `line` are only for messages. */
	add(cell: Cell, row: number, line: number): void {
		const i = this.size++;
		if (i === this.numbers.length) this.grow();
		let key: string | null;
		if (typeof cell === "number") {
			key = this.number(i, cell);
		} else {
			const trimmed = cell === null ? "" : cell.trim();
			if (cell === null || this.options.missingValues.has(trimmed)) key = null;
			else if (NUMBER.test(trimmed)) key = this.number(i, Number(trimmed));
			else {
				this.numbers[i] = NaN;
				this.text++;
				this.firstText ??= { row, line, text: trimmed };
				key = trimmed;
			}
		}
		if (key === null) {
			this.numbers[i] = NaN;
			this.missing++;
			this.firstMissing ??= { row, line };
		}
		this.encode(i, key);
	}

	/** The first row whose cell is missing, if any. */
	get firstMissingRow(): Omit<Seen, "text"> | null {
		return this.firstMissing;
	}

	/**
	 * The column: numeric when all its values are numbers; categorical when most are not; an
	 * error naming the row of the first stray word when most values are numbers but some are not
	 * (a typo in a numeric column, not a category). A declared kind overrides the inference.
	 */
	finish(): DatasetColumn {
		const { name, size } = this;
		const kind = this.options.kind ?? this.inferKind();
		if (kind === "numeric") {
			if (this.firstText) {
				const { row, line } = this.firstText;
				const why = this.options.kind
					? "the column is declared numeric"
					: `the column is numeric (${this.numeric} of its ${this.numeric + this.text} values are numbers)`;
				throw datasetError(
					{ row, line, column: name },
					`the value is not a number, but ${why}. Fix the value, leave the cell empty (or NA) if it is missing, or declare the column categorical.`,
				);
			}
			if (this.numeric === 0)
				throw datasetError(
					{ column: name },
					"every value is missing; remove the column or fill it in.",
				);
			return Object.freeze({
				name,
				kind,
				values: this.numbers.slice(0, size),
				missing: this.missing,
				levels: this.numericLevels(),
			});
		}
		if (this.dictionary === null)
			throw datasetError(
				{ column: name },
				`more than ${this.options.maxCategories} distinct values for a categorical column; declare it numeric, or drop it.`,
			);
		if (this.dictionary.size === 0)
			throw datasetError(
				{ column: name },
				"every value is missing; remove the column or fill it in.",
			);
		const keys = [...this.dictionary.keys()];
		const sorted = keys.every(k => NUMBER.test(k))
			? [...keys].sort((a, b) => Number(a) - Number(b))
			: [...keys].sort(byCodePoint);
		const remap = new Int32Array(keys.length);
		keys.forEach((key, code) => (remap[code] = sorted.indexOf(key)));
		const codes = (this.codes as Int32Array).slice(0, size);
		for (let i = 0; i < size; i++) if (codes[i] >= 0) codes[i] = remap[codes[i]];
		const counts = sorted.map(key => this.counts[this.dictionary?.get(key) as number]);
		return Object.freeze({
			name,
			kind,
			categories: Object.freeze(sorted),
			codes,
			counts: Object.freeze(counts),
			missing: this.missing,
		});
	}

	private inferKind(): ColumnKind {
		if (this.text === 0) return "numeric";
		return this.numeric > this.text ? "numeric" : "categorical";
	}

	private numericLevels(): readonly ValueCount[] | null {
		if (this.dictionary === null) return null;
		return Object.freeze(
			[...this.dictionary.entries()]
				.map(([value, code]) => ({ value, count: this.counts[code] }))
				.sort((a, b) => Number(a.value) - Number(b.value)),
		);
	}

	private number(i: number, value: number): string | null {
		if (!Number.isFinite(value)) return null;
		this.numbers[i] = value;
		this.numeric++;
		return String(value);
	}

	private encode(i: number, key: string | null): void {
		const { dictionary, codes } = this;
		if (dictionary === null || codes === null) return;
		if (key === null) {
			codes[i] = -1;
			return;
		}
		let code = dictionary.get(key);
		if (code === undefined) {
			if (dictionary.size === this.options.maxCategories) {
				// Too many distinct values to be categories: stop keeping codes.
				this.dictionary = null;
				this.codes = null;
				return;
			}
			code = dictionary.size;
			dictionary.set(key, code);
			this.counts.push(0);
		}
		codes[i] = code;
		this.counts[code]++;
	}

	private grow(): void {
		const numbers = new Float64Array(this.numbers.length * 2);
		numbers.set(this.numbers);
		this.numbers = numbers;
		if (this.codes) {
			const codes = new Int32Array(numbers.length);
			codes.set(this.codes);
			this.codes = codes;
		}
	}
}
