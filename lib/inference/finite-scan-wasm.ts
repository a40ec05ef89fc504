/**
 * Finiteness of FP32 data with WebAssembly SIMD: four values per instruction, where the
 * JavaScript loops of column-scans.ts read one. A float32 is NaN or ±Infinity exactly when
 * its eight exponent bits are all set, so the kernel keeps the largest `bits & 0x7f800000` of
 * each lane and says whether any reached 0x7f800000. The data is first copied into the
 * module's memory (a memcpy, a fraction of the scan's cost); for an FP32 request of
 * 64 × 64 values the whole check takes about half the time of the best JavaScript loop.
 *
 * The module, as text (built below opcode by opcode, so that no binary blob hides in the
 * source; `$p` and `$end` are byte offsets, `$end - $p` a positive multiple of 128):
 *
 *     (module
 *       (memory (export "memory") 4)
 *       (func (export "exponentsFull") (param $p i32) (param $end i32) (result i32)
 *         (local $a v128) (local $b v128)
 *         (loop $next
 *           ;; eight times, at offsets 0, 16, … 112, alternating $a and $b:
 *           (local.set $a (i32x4.max_u (local.get $a)
 *             (v128.and (v128.load offset=0 (local.get $p)) (v128.const i32x4 0x7f800000 …))))
 *           …
 *           (br_if $next (i32.lt_u
 *             (local.tee $p (i32.add (local.get $p) (i32.const 128))) (local.get $end))))
 *         (v128.any_true (i32x4.eq (i32x4.max_u (local.get $a) (local.get $b))
 *           (v128.const i32x4 0x7f800000 …)))))
 */

/** Values per call of the kernel: its memory (4 pages of 64 KiB) holds this many floats. */
const CHUNK = (4 * 65536) / 4;
/** Floats one loop iteration reads: eight vectors of four. */
export const WASM_SCAN_STEP = 32;
const STEP = WASM_SCAN_STEP;

interface Kernel {
	memory: Float32Array;
	exponentsFull(p: number, end: number): number;
}

function uleb(n: number): number[] {
	const out: number[] = [];
	do {
		let byte = n & 0x7f;
		n >>>= 7;
		if (n !== 0) byte |= 0x80;
		out.push(byte);
	} while (n !== 0);
	return out;
}

function sleb(n: number): number[] {
	const out: number[] = [];
	for (;;) {
		const byte = n & 0x7f;
		n >>= 7;
		if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
			out.push(byte);
			return out;
		}
		out.push(byte | 0x80);
	}
}

const section = (id: number, bytes: number[]): number[] => [id, ...uleb(bytes.length), ...bytes];
const name = (text: string): number[] => [...uleb(text.length), ...Buffer.from(text)];

// Opcodes (WebAssembly core and SIMD specifications).
const LOCAL_GET = 0x20;
const LOCAL_SET = 0x21;
const LOCAL_TEE = 0x22;
const I32_CONST = 0x41;
const I32_ADD = 0x6a;
const I32_LT_U = 0x49;
const LOOP = 0x03;
const BR_IF = 0x0d;
const END = 0x0b;
const EMPTY_BLOCK = 0x40;
const V128 = 0x7b;
const simd = (op: number): number[] => [0xfd, ...uleb(op)];
const V128_LOAD = simd(0x00);
const V128_CONST = simd(0x0c);
const V128_AND = simd(0x4e);
const V128_ANY_TRUE = simd(0x53);
const I32X4_EQ = simd(0x37);
const I32X4_MAX_U = simd(0xb9);

const EXPONENT = [0x00, 0x00, 0x80, 0x7f]; // 0x7f800000, little-endian
const EXPONENT_MASK = [...V128_CONST, ...EXPONENT, ...EXPONENT, ...EXPONENT, ...EXPONENT];

function moduleBytes(): Uint8Array {
	const [p, end, a, b] = [0, 1, 2, 3];
	const loopBody: number[] = [];
	for (let k = 0; k < STEP / 4; k++) {
		const acc = k % 2 === 0 ? a : b;
		loopBody.push(
			LOCAL_GET,
			acc,
			LOCAL_GET,
			p,
			...V128_LOAD,
			0x04, // alignment 2^4
			...uleb(16 * k),
			...EXPONENT_MASK,
			...V128_AND,
			...I32X4_MAX_U,
			LOCAL_SET,
			acc,
		);
	}
	const body = [
		1, // one group of locals: $a, $b
		2,
		V128,
		LOOP,
		EMPTY_BLOCK,
		...loopBody,
		LOCAL_GET,
		p,
		I32_CONST,
		...sleb(STEP * 4),
		I32_ADD,
		LOCAL_TEE,
		p,
		LOCAL_GET,
		end,
		I32_LT_U,
		BR_IF,
		0,
		END,
		LOCAL_GET,
		a,
		LOCAL_GET,
		b,
		...I32X4_MAX_U,
		...EXPONENT_MASK,
		...I32X4_EQ,
		...V128_ANY_TRUE,
		END,
	];
	const I32 = 0x7f;
	return Uint8Array.from([
		...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
		...section(1, [1, 0x60, 2, I32, I32, 1, I32]), // type: (i32, i32) -> i32
		...section(3, [1, 0]), // one function of that type
		...section(5, [1, 0x00, 4]), // memory: 4 pages, no maximum
		...section(7, [2, ...name("memory"), 0x02, 0, ...name("exponentsFull"), 0x00, 0]),
		...section(10, [1, ...uleb(body.length), ...body]),
	]);
}

/** What this file uses of the WebAssembly JS API (the project's lib settings do not declare it). */
interface WasmApi {
	Module: new (bytes: Uint8Array) => object;
	Instance: new (module: object, imports: object) => { exports: unknown };
}

let kernel: Kernel | null | undefined;

/** The kernel, instantiated on first use; null where WebAssembly SIMD is not available. */
function loadKernel(): Kernel | null {
	if (kernel !== undefined) return kernel;
	try {
		const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
		if (wasm === undefined) return (kernel = null);
		const instance = new wasm.Instance(new wasm.Module(moduleBytes()), {});
		const exports = instance.exports as {
			memory: { buffer: ArrayBuffer };
			exponentsFull(p: number, end: number): number;
		};
		kernel = {
			memory: new Float32Array(exports.memory.buffer),
			exponentsFull: exports.exponentsFull,
		};
	} catch {
		kernel = null;
	}
	return kernel;
}

/** Shorter data is scanned faster in JavaScript than copied and handed over. */
export const WASM_SCAN_MIN_VALUES = 1024;

/**
 * Whether any value of `data` is NaN or ±Infinity, by the SIMD kernel; undefined when the
 * kernel is not available (the caller scans in JavaScript then). Only whole steps of 32
 * values go to the kernel; the caller checks the last `data.length % 32` values itself.
 */
export function anyNonFiniteFP32(data: Float32Array): boolean | undefined {
	const k = loadKernel();
	if (k === null) return undefined;
	const whole = data.length - (data.length % STEP);
	for (let start = 0; start < whole; start += CHUNK) {
		const count = Math.min(CHUNK, whole - start);
		k.memory.set(
			start === 0 && count === data.length ? data : data.subarray(start, start + count),
		);
		if (k.exponentsFull(0, count * 4) !== 0) return true;
	}
	return false;
}
