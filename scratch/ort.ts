import * as ort from "onnxruntime-node";
import { writeBenchMlp } from "../bench/models/mlp-model";
async function main() {
  const bytes = writeBenchMlp();
  const s = await ort.InferenceSession.create(Buffer.from(bytes), { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: "all", executionMode: "sequential" });
  for (const rows of [1, 6, 16, 64]) {
    const data = new Float32Array(rows * 64).fill(0.5);
    const iters = 4000;
    let best = Infinity;
    for (let r = 0; r < 3; r++) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < iters; i++) {
        await s.run({ x: new ort.Tensor("float32", data, [rows, 64]) });
      }
      best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1000 / iters);
    }
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iters; i++) s.runSync ? 0 : 0;
    console.log(`rows ${rows}: ${best.toFixed(1)} µs per run (incl. setImmediate hop)`);
  }
  // sync path via the handler directly
  const h = (s as any).handler;
  for (const rows of [1, 6, 64]) {
    const data = new Float32Array(rows * 64).fill(0.5);
    const iters = 4000; let best = Infinity;
    for (let r = 0; r < 3; r++) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < iters; i++) await h.run({ x: new ort.Tensor("float32", data, [rows, 64]) }, {}, {});
      best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1000 / iters);
    }
    console.log(`handler rows ${rows}: ${best.toFixed(1)} µs`);
  }
}
main();
