/**
 * A study's search space: which training fields vary, over what. Each parameter is one of
 * `uniform` / `loguniform` (a number in [min, max]), `int` (a whole number in [min, max], with
 * an optional step) or `choice` (one of the given values). A parameter's name is the training
 * field it sets:
 *
 *     learningRate, batchSize, optimizer            the job spec's own fields
 *     layers                                        how many hidden layers (copies of the first)
 *     units, activation, dropout                    that field of every hidden layer
 *     layers.<i>.units, layers.<i>.activation, …    that field of hidden layer i (0-based)
 *
 * `checkSearchSpace` refuses a space whose values the job spec would refuse (400, the field
 * named `space.<parameter>`); `sampleParams` draws a point with a seeded generator;
 * `applyParams` writes a point into a job spec.
 */
import type { SeededRandom } from "../datasets/seeded-random";
import { InvalidInputError } from "../errors";
import { validateJobSpec, type JobSpec } from "../training/job-spec";

export type ParamDomain =
	| { type: "uniform"; min: number; max: number }
	| { type: "loguniform"; min: number; max: number }
	| { type: "int"; min: number; max: number; step?: number }
	| { type: "choice"; values: (string | number | boolean)[] };

export type SearchSpace = Record<string, ParamDomain>;
export type ParamValue = string | number | boolean;
export type Params = Record<string, ParamValue>;

const TOP_LEVEL = ["learningRate", "batchSize", "optimizer"] as const;
const LAYER_FIELDS = ["units", "activation", "dropout"] as const;
const PER_LAYER = /^layers\.(\d{1,2})\.(units|activation|dropout)$/;

function refuse(name: string, message: string): never {
	throw new InvalidInputError(`Invalid study: space.${name}: ${message}`, {
		field: `space.${name}`,
	});
}

function knownName(name: string): boolean {
	return (
		(TOP_LEVEL as readonly string[]).includes(name) ||
		(LAYER_FIELDS as readonly string[]).includes(name) ||
		name === "layers" ||
		PER_LAYER.test(name)
	);
}

/** A domain's own consistency (bounds in order, whole numbers where needed). */
function checkDomain(name: string, domain: ParamDomain): void {
	if (domain.type === "choice") {
		if (domain.values.length === 0) refuse(name, "a choice needs at least one value");
		return;
	}
	if (!(domain.min <= domain.max)) refuse(name, `min ${domain.min} is above max ${domain.max}`);
	if (domain.type === "loguniform" && !(domain.min > 0))
		refuse(name, "a loguniform range must be above 0");
	if (domain.type === "int") {
		if (!Number.isInteger(domain.min) || !Number.isInteger(domain.max))
			refuse(name, "an int range needs whole-number bounds");
		if (domain.step !== undefined && !(Number.isInteger(domain.step) && domain.step >= 1))
			refuse(name, "step must be a whole number ≥ 1");
	}
}

/** The values that bound a domain: each is tried against the job spec. */
function extremes(domain: ParamDomain): ParamValue[] {
	return domain.type === "choice" ? domain.values : [domain.min, domain.max];
}

/**
 * Refuses a space that names an unknown field, has an inconsistent domain, or a value the job
 * spec refuses (each bound and each choice is tried on `base`).
 */
export function checkSearchSpace(space: SearchSpace, base: Record<string, unknown>): void {
	const names = Object.keys(space);
	if (names.length === 0) refuse("(none)", "give at least one parameter to search");
	for (const name of names) {
		if (!knownName(name))
			refuse(
				name,
				`not a searchable field; use ${[...TOP_LEVEL, "layers", ...LAYER_FIELDS].join(", ")} or layers.<i>.units|activation|dropout`,
			);
		checkDomain(name, space[name]);
		for (const value of extremes(space[name])) {
			try {
				validateJobSpec(applyParams(base, { [name]: value }), () => 0);
			} catch (err) {
				if (!(err instanceof InvalidInputError)) throw err;
				refuse(name, `${JSON.stringify(value)} is refused: ${err.message}`);
			}
		}
	}
}

/** One value of a domain, drawn from `random`. */
export function sampleValue(domain: ParamDomain, random: SeededRandom): ParamValue {
	switch (domain.type) {
		case "uniform":
			return domain.min + random.next() * (domain.max - domain.min);
		case "loguniform":
			return Math.exp(
				Math.log(domain.min) +
					random.next() * (Math.log(domain.max) - Math.log(domain.min)),
			);
		case "int": {
			const step = domain.step ?? 1;
			const count = Math.floor((domain.max - domain.min) / step) + 1;
			return domain.min + random.int(count) * step;
		}
		case "choice":
			return domain.values[random.int(domain.values.length)];
	}
}

/** A point of the space, each parameter in name order (so a seed always gives the same point). */
export function sampleParams(space: SearchSpace, random: SeededRandom): Params {
	const params: Params = {};
	for (const name of Object.keys(space).sort()) params[name] = sampleValue(space[name], random);
	return params;
}

type LayerInput = { units?: number; activation?: string; dropout?: number };

/** The hidden layers of a (raw or validated) spec, as plain objects to edit. */
function layersOf(spec: Record<string, unknown>): LayerInput[] {
	const model = (spec.model ?? {}) as { layers?: LayerInput[]; preset?: string };
	if (model.layers) return model.layers.map(l => ({ ...l }));
	const preset = validateJobSpec({ ...spec, dataset: "x", labelColumn: "y" }, () => 0).model;
	return preset.layers.map(l => ({ ...l }));
}

/**
 * `base` with the parameters written in: `layers` first (the layer count), then every-layer
 * fields, then per-layer ones. Does not change `base`.
 */
export function applyParams(
	base: Record<string, unknown>,
	params: Params,
): Record<string, unknown> {
	const spec: Record<string, unknown> = structuredClone(base);
	for (const name of TOP_LEVEL) if (name in params) spec[name] = params[name];
	const touchesLayers = Object.keys(params).some(
		n => n === "layers" || !(TOP_LEVEL as readonly string[]).includes(n),
	);
	if (!touchesLayers) return spec;
	let layers = layersOf(base);
	if ("layers" in params) {
		const count = Number(params.layers);
		layers = Array.from({ length: count }, (_, i) => ({ ...(layers[i] ?? layers[0]) }));
	}
	for (const field of LAYER_FIELDS)
		if (field in params)
			for (const layer of layers) (layer as Record<string, unknown>)[field] = params[field];
	for (const [name, value] of Object.entries(params)) {
		const match = PER_LAYER.exec(name);
		if (match && layers[Number(match[1])])
			(layers[Number(match[1])] as Record<string, unknown>)[match[2]] = value;
	}
	spec.model = { layers };
	return spec;
}

/** A parameter's value as a validated spec holds it (the inverse of applyParams). */
export function readParam(spec: JobSpec, name: string): ParamValue | undefined {
	if ((TOP_LEVEL as readonly string[]).includes(name))
		return spec[name as (typeof TOP_LEVEL)[number]];
	if (name === "layers") return spec.model.layers.length;
	if ((LAYER_FIELDS as readonly string[]).includes(name))
		return spec.model.layers[0]?.[name as (typeof LAYER_FIELDS)[number]];
	const match = PER_LAYER.exec(name);
	return match
		? spec.model.layers[Number(match[1])]?.[match[2] as (typeof LAYER_FIELDS)[number]]
		: undefined;
}
