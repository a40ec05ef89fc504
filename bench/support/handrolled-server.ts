/**
 * The stand-in for what a user would hand-roll instead of modelfleet: node:http and
 * onnxruntime-node, one model, Open Inference Protocol JSON in and out, no auth, no batching,
 * no validation beyond what it needs to run. `node … handrolled-server.ts <model.onnx> <port>`.
 */
import * as http from "node:http";
import * as ort from "onnxruntime-node";

async function main(modelPath: string, port: number): Promise<void> {
	const session = await ort.InferenceSession.create(modelPath);
	const server = http.createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on("data", (chunk: Buffer) => chunks.push(chunk));
		req.on("end", () => {
			void (async () => {
				try {
					const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
						inputs: Array<{ name: string; shape: number[]; data: number[] }>;
					};
					const feeds: Record<string, ort.Tensor> = {};
					for (const input of body.inputs) {
						feeds[input.name] = new ort.Tensor(
							"float32",
							Float32Array.from(input.data),
							input.shape,
						);
					}
					const results = await session.run(feeds);
					const outputs = Object.entries(results).map(([name, tensor]) => ({
						name,
						datatype: "FP32",
						shape: tensor.dims,
						data: Array.from(tensor.data as Float32Array),
					}));
					res.writeHead(200, { "content-type": "application/json" });
					res.end(JSON.stringify({ model_name: "mlp", outputs }));
				} catch (err) {
					res.writeHead(400, { "content-type": "application/json" });
					res.end(JSON.stringify({ error: (err as Error).message }));
				}
			})();
		});
	});
	server.listen(port, "127.0.0.1", () => process.send?.("ready"));
}

void main(process.argv[2], Number(process.argv[3]));
