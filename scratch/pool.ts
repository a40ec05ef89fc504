import { RuntimePool } from "../lib/runtimes/pool/runtime-pool";
import { writeBenchMlp } from "../bench/models/mlp-model";
import * as fs from "node:fs";
async function main() {
  const file = "/tmp/mlp-pool.onnx"; fs.writeFileSync(file, writeBenchMlp());
  const pool = new RuntimePool({ threads: 1 });
  const task = (rows: number) => ({ modelKey: "m", format: "onnx" as const, filePath: file, executionProviders: ["cpu"],
    inputs: [{ name: "x", datatype: "FP32" as const, shape: [rows, 64], data: new Float32Array(rows * 64).fill(0.5) }] });
  await pool.run(task(1));
  for (const rows of [1, 64]) {
    for (let r = 0; r < 3; r++) {
      const iters = 3000;
      const c0 = (process as any).threadCpuUsage(); const a0 = process.cpuUsage(); const t0 = process.hrtime.bigint();
      for (let i = 0; i < iters; i++) await pool.run(task(rows));
      const wall = Number(process.hrtime.bigint() - t0) / 1000 / iters;
      const c1 = (process as any).threadCpuUsage(); const a1 = process.cpuUsage();
      const main = (c1.user + c1.system - c0.user - c0.system) / iters;
      const all = (a1.user + a1.system - a0.user - a0.system) / iters;
      console.log(`rows ${rows}: wall ${wall.toFixed(1)} µs, main thread ${main.toFixed(1)} µs, all threads ${all.toFixed(1)} µs`);
    }
  }
  await pool.close();
}
main();
