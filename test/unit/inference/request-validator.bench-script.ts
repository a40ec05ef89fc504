/**
 * A timing sanity check, not a test: how long `compileRequestValidator` takes over one 64×64
 * FP32 request, given as a Float32Array and as JSON (flat and nested). Run it with
 *
 *     node_modules/.bin/node --require ./scripts/ts-register.js \
 *         test/unit/inference/request-validator.bench-script.ts
 */
import { performance } from "node:perf_hooks";
import {
	compileRequestValidator,
	type RequestValidator,
} from "../../../lib/inference/request-validator";
import type { ModelSchema } from "../../../lib/model-spec/model-schema";

const ROWS = 64;
const WIDTH = 64;

function schema(withFeatures: boolean): ModelSchema {
	return {
		inputs: [
			{
				name: "x",
				datatype: "FP32",
				shape: [-1, WIDTH],
				...(withFeatures && {
					features: Array.from({ length: WIDTH }, (_, c) => ({
						name: `f${c}`,
						min: -10,
						max: 10,
					})),
				}),
			},
		],
		outputs: [{ name: "y", datatype: "FP32", shape: [-1] }],
	};
}

const values = Float32Array.from({ length: ROWS * WIDTH }, (_, i) => Math.sin(i) * 5);
const flat = Array.from(values);
const nested = Array.from({ length: ROWS }, (_, r) => flat.slice(r * WIDTH, (r + 1) * WIDTH));
const request = (data: unknown) => ({
	inputs: [{ name: "x", datatype: "FP32", shape: [ROWS, WIDTH], data }],
});

/**
 * Microseconds per call for each case: the best of many short rounds, taken in turns, so that
 * a busy machine skews the figures less.
 */
function time(cases: readonly (readonly [string, RequestValidator, unknown])[]): number[] {
	const calls = 500;
	const best = cases.map(() => Infinity);
	for (let round = 0; round < 40; round++)
		cases.forEach(([, validate, body], k) => {
			const start = performance.now();
			for (let i = 0; i < calls; i++) validate(body);
			best[k] = Math.min(best[k], ((performance.now() - start) * 1000) / calls);
		});
	return best;
}

const cases: [string, RequestValidator, unknown][] = [];
for (const withFeatures of [false, true]) {
	const validate = compileRequestValidator(schema(withFeatures));
	const label = withFeatures ? "64 features with min/max" : "no features";
	cases.push(
		[`${label}, Float32Array`, validate, request(values)],
		[`${label}, JSON flat`, validate, request(flat)],
		[`${label}, JSON nested`, validate, request(nested)],
	);
}
time(cases).forEach((us, k) =>
	console.log(`${ROWS}×${WIDTH} FP32, ${cases[k][0]}: ${us.toFixed(1)} µs per request`),
);
