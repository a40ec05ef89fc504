/** How the console writes numbers, sizes and times. */
export function bytes(value: number | null | undefined): string {
	if (value === null || value === undefined) return "—";
	const units = ["B", "KiB", "MiB", "GiB", "TiB"];
	let n = value;
	let unit = 0;
	while (n >= 1024 && unit < units.length - 1) {
		n /= 1024;
		unit++;
	}
	return `${n >= 100 || unit === 0 ? n.toFixed(0) : n.toFixed(1)} ${units[unit]}`;
}

export function percent(value: number | null | undefined, digits = 0): string {
	return value === null || value === undefined ? "—" : `${(value * 100).toFixed(digits)} %`;
}

export function num(value: unknown, digits = 3): string {
	if (typeof value !== "number" || !Number.isFinite(value))
		return value === null || value === undefined ? "—" : String(value);
	return Number.isInteger(value) ? String(value) : value.toFixed(digits);
}

export function when(iso: string | null | undefined): string {
	if (!iso) return "—";
	const date = new Date(iso);
	return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

export function short(id: string | null | undefined, length = 8): string {
	return id ? id.slice(0, length) : "—";
}
