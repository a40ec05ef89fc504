import type { ConfigurationProblem } from "../errors";

/** Reads typed values from an environment map and collects every problem instead of throwing at the first. */
export class EnvReader {
	readonly problems: ConfigurationProblem[] = [];

	constructor(private readonly env: Readonly<Record<string, string | undefined>>) {}

	/** The trimmed value, or undefined when unset or empty. */
	raw(name: string): string | undefined {
		const value = this.env[name]?.trim();
		return value === undefined || value === "" ? undefined : value;
	}

	string(name: string, fallback: string): string {
		return this.raw(name) ?? fallback;
	}

	optionalString(name: string): string | null {
		return this.raw(name) ?? null;
	}

	number(
		name: string,
		fallback: number,
		limits: { min?: number; max?: number; integer?: boolean } = {},
	): number {
		const text = this.raw(name);
		if (text === undefined) return fallback;
		const value = Number(text);
		const { min, max, integer } = limits;
		const wrong =
			!Number.isFinite(value) ||
			(integer === true && !Number.isInteger(value)) ||
			(min !== undefined && value < min) ||
			(max !== undefined && value > max);
		if (wrong) {
			const range = [
				integer ? "an integer" : "a number",
				min !== undefined ? `≥ ${min}` : "",
				max !== undefined ? `≤ ${max}` : "",
			]
				.filter(Boolean)
				.join(" ");
			this.fail(name, `"${text}" is not ${range}`);
			return fallback;
		}
		return value;
	}

	boolean(name: string, fallback: boolean): boolean {
		const text = this.raw(name)?.toLowerCase();
		if (text === undefined) return fallback;
		if (["1", "true", "yes", "on"].includes(text)) return true;
		if (["0", "false", "no", "off"].includes(text)) return false;
		this.fail(name, `"${text}" is not a boolean (use true/false, 1/0, yes/no or on/off)`);
		return fallback;
	}

	oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
		const text = this.raw(name);
		if (text === undefined) return fallback;
		if ((allowed as readonly string[]).includes(text)) return text as T;
		this.fail(name, `"${text}" is not one of ${allowed.join(", ")}`);
		return fallback;
	}

	fail(setting: string, problem: string): void {
		this.problems.push({ setting, problem });
	}
}

const SIZE_UNITS: Record<string, number> = {
	"": 1,
	b: 1,
	k: 1e3,
	kb: 1e3,
	m: 1e6,
	mb: 1e6,
	g: 1e9,
	gb: 1e9,
	t: 1e12,
	tb: 1e12,
	ki: 1024,
	kib: 1024,
	mi: 1024 ** 2,
	mib: 1024 ** 2,
	gi: 1024 ** 3,
	gib: 1024 ** 3,
	ti: 1024 ** 4,
	tib: 1024 ** 4,
};

/** Parses "17179869184", "16GiB", "16 GB", "512Mi" into bytes; null when it is not a size. */
export function parseByteSize(text: string): number | null {
	const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
	if (!match) return null;
	const unit = SIZE_UNITS[match[2].toLowerCase()];
	if (unit === undefined) return null;
	const bytes = Math.round(Number(match[1]) * unit);
	return Number.isSafeInteger(bytes) ? bytes : null;
}
