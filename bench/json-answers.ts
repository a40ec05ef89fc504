/**
 * What a coalesced answer costs between a worker and a gateway, in one process: the worker's
 * response packet of 6 outcomes (the average group at batch 1, 16 connections) encoded with the
 * fleet's CBOR serializer, decoded, and each answer turned into its HTTP body — once with the
 * results as CBOR (what a parsed request gets), once as JSON text (lib/http/json-answer.ts, what
 * a forwarded request gets). The digits MLP's answer: one output of 10 FP32 values.
 */
import { ServiceBroker } from "moleculer";
import { GuardedCborSerializer } from "../lib/fleet/guarded-serializer";
import { inferResponseText } from "../lib/http/infer-request";
import { JsonAnswer, answeredAsJson } from "../lib/http/json-answer";
import type { InferResult } from "../lib/predictor/served-model";
import { seededRandom, uniformFloats } from "./support/prng";

const GROUP = 6;
const ITERATIONS = 20_000;
const ROUNDS = 5;

function result(random: () => number): InferResult {
	return {
		modelName: "mlp",
		modelVersion: "1.0.0",
		outputs: [
			{
				name: "probabilities",
				datatype: "FP32",
				shape: [1, 10],
				data: uniformFloats(random, 10, 0, 1),
			},
		],
		executionProvider: "cpu",
		steps: [],
		rows: 1,
	};
}

/** µs per answer (median of ROUNDS) with each result made by `wrap`. */
function perAnswer(serializer: GuardedCborSerializer, wrap: (r: InferResult) => InferResult) {
	const random = seededRandom(3);
	const rounds: number[] = [];
	for (let round = 0; round < ROUNDS; round++) {
		const started = performance.now();
		for (let i = 0; i < ITERATIONS; i++) {
			const data = Array.from({ length: GROUP }, () => ({
				ok: true,
				value: wrap(result(random)),
			}));
			const packet = serializer.serialize(
				{ ver: "5", sender: "worker", id: "r", success: true, data, meta: {} },
				"RES",
			);
			const back = serializer.deserialize(packet) as { data: Array<{ value: unknown }> };
			for (const outcome of back.data) {
				const value = outcome.value;
				const body =
					value instanceof JsonAnswer
						? value.bytes
						: inferResponseText(value as InferResult);
				if (body.length === 0) throw new Error("empty answer");
			}
		}
		rounds.push(((performance.now() - started) * 1000) / ITERATIONS / GROUP);
	}
	rounds.sort((a, b) => a - b);
	return rounds[Math.floor(rounds.length / 2)];
}

export async function runJsonAnswers(): Promise<string> {
	const serializer = new GuardedCborSerializer(64);
	serializer.init(new ServiceBroker({ logger: false }));
	const asCbor = perAnswer(serializer, r => r);
	const asJson = perAnswer(serializer, answeredAsJson);
	return [
		`### Coalesced answers: encode, decode and HTTP body, per answer (groups of ${GROUP}, median of ${ROUNDS} × ${ITERATIONS})`,
		"| answer travels as | µs per answer |",
		"| --- | ---: |",
		`| CBOR of the result | ${asCbor.toFixed(2)} |`,
		`| JSON text (forwarded request) | ${asJson.toFixed(2)} |`,
	].join("\n");
}
