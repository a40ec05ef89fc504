import { InvalidInputError } from "../../../lib/errors";
import {
	checkpointEpoch,
	decodeCheckpoint,
	encodeCheckpoint,
	type CheckpointState,
} from "../../../lib/training/checkpoint";

const STATE: CheckpointState = {
	fingerprint: '{"seed":1}',
	epoch: 12,
	elapsedMs: 3456.5,
	random: { shuffle: 4_000_000_000, dropout: 17 },
	weights: [Float32Array.of(0.5, -1.25, 3), Float32Array.of(1e-8)],
	optimizer: [
		{ name: "iter", dtype: "int32", shape: [], values: Float32Array.of(120) },
		{ name: "w/m", dtype: "float32", shape: [3], values: Float32Array.of(0.1, 0.2, 0.3) },
	],
	early: {
		best: 0.25,
		bestEpoch: 10,
		wait: 2,
		bestWeights: [Float32Array.of(1, 2, 3), Float32Array.of(4)],
	},
	targetScale: { mean: 10, std: 2 },
	history: [],
};

describe("training checkpoints", () => {
	it("come back exactly as they were written, in a plain Uint8Array", () => {
		const bytes = encodeCheckpoint(STATE);
		expect(bytes).toBeInstanceOf(Uint8Array);
		expect(decodeCheckpoint(bytes)).toEqual(STATE);
		expect(checkpointEpoch(bytes)).toBe(12);
	});

	it("read from any offset of a larger buffer (as an artifact stream may hand them)", () => {
		const bytes = encodeCheckpoint({ ...STATE, early: { ...STATE.early, bestWeights: null } });
		const padded = new Uint8Array(bytes.length + 3);
		padded.set(bytes, 3);
		expect(decodeCheckpoint(padded.subarray(3)).early.bestWeights).toBeNull();
	});

	it("refuse bytes that are not a checkpoint, truncated or of another format version", () => {
		const bytes = encodeCheckpoint(STATE);
		expect(() => decodeCheckpoint(new TextEncoder().encode("hello world"))).toThrow(
			/not a modelfleet training checkpoint/,
		);
		expect(() => decodeCheckpoint(bytes.subarray(0, bytes.length - 4))).toThrow(/truncated/);
		expect(() => decodeCheckpoint(bytes.subarray(0, 40))).toThrow(InvalidInputError);
		const future = bytes.slice();
		future[6] = 99;
		expect(() => decodeCheckpoint(future)).toThrow(/format version 99/);
	});
});
