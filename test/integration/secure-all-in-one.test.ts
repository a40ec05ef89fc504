/**
 * An all-in-one node serving HTTPS with a certificate of a test CA, keeping its metadata in a
 * PostgreSQL of the test's own that takes TLS connections only: the README's quick-start
 * walk-through answers over HTTPS (the direct /v2 infer route included), and DATABASE_URL's
 * sslmode means what it means to libpq.
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { credentials } from "@grpc/grpc-js";
import { sql } from "drizzle-orm";
import { openDatabase } from "../../lib/db/database";
import { InferenceClient } from "../../lib/grpc/grpc-client";
import { httpsClient, type HttpsReply } from "../support/https-client";
import { describeWithPrograms } from "../support/programs";
import { makeTestCertificates, type TestCertificates } from "../support/test-certificates";
import { startTestNode, type TestNode } from "../support/test-node";
import { postgresBinDir, startTlsPostgres, type TlsPostgres } from "../support/tls-postgres";
import { writeMlpModel } from "../unit/onnx/example-models";

const OWNER_KEY = `mf_secure-${randomUUID()}`;
const ROWS = [
	[1, 2, 3, 4],
	[-1, 0, 1, 0],
];

interface InferAnswer {
	outputs: Array<{ name: string; shape: number[]; data: number[] }>;
}

describeWithPrograms(
	["openssl", path.join(postgresBinDir(), "initdb")],
	"an all-in-one node over HTTPS, on PostgreSQL over TLS",
	() => {
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mf-secure-"));
		let certs: TestCertificates;
		let postgres: TlsPostgres;
		let node: TestNode;
		let request: (
			path: string,
			init?: Parameters<ReturnType<typeof httpsClient>>[1],
		) => Promise<HttpsReply>;

		beforeAll(async () => {
			certs = makeTestCertificates(path.join(dir, "certs"));
			postgres = await startTlsPostgres(certs);
			node = await startTestNode(OWNER_KEY, {
				MODELFLEET_TLS_CERT: certs.serverCert,
				MODELFLEET_TLS_KEY: certs.serverKey,
				DATABASE_URL: postgres.url("sslmode=require"),
				MODELFLEET_GPUS: "none",
				MODELFLEET_POOL_THREADS: "1",
				MODELFLEET_GRPC_PORT: "0",
			});
			request = httpsClient(node.node.httpUrl ?? "", fs.readFileSync(certs.ca), OWNER_KEY);
		}, 60_000);

		afterAll(async () => {
			await node?.stop();
			postgres?.stop();
			fs.rmSync(dir, { recursive: true, force: true });
		});

		it("answers the quick-start walk-through over HTTPS", async () => {
			expect(node.node.httpUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
			expect((await request("/health/ready")).status).toBe(200);
			expect((await request("/api/v1/nodes")).status).toBe(200);

			const created = await request("/api/v1/models", {
				body: { name: "mlp", task: "classification", framework: "onnx" },
			});
			expect(created.status).toBe(201);
			const uploaded = await request(
				"/api/v1/models/mlp/versions/upload?version=1.0.0&state=Validated",
				{
					headers: { "content-type": "application/octet-stream" },
					body: Buffer.from(writeMlpModel()),
				},
			);
			expect(uploaded.status).toBe(201);
			expect((await request("/v2/models/mlp")).status).toBe(200);

			const json = await request("/v2/models/mlp/infer", {
				body: { inputs: [{ name: "x", datatype: "FP32", shape: [2, 4], data: ROWS }] },
			});
			expect(json.status).toBe(200);
			const outputs = (json.body as InferAnswer).outputs;
			expect(outputs.map(o => [o.name, o.shape])).toEqual([
				["logits", [2, 2]],
				["probabilities", [2, 2]],
			]);

			const header = JSON.stringify({
				inputs: [
					{
						name: "x",
						datatype: "FP32",
						shape: [2, 4],
						parameters: { binary_data_size: 32 },
					},
				],
			});
			const binary = await request("/v2/models/mlp/infer", {
				headers: {
					"content-type": "application/octet-stream",
					"inference-header-content-length": String(header.length),
				},
				body: Buffer.concat([
					Buffer.from(header),
					Buffer.from(Float32Array.from(ROWS.flat()).buffer),
				]),
			});
			expect(binary.status).toBe(200);
			expect((binary.body as InferAnswer).outputs).toEqual(outputs);

			const predicted = await request("/api/v1/models/mlp/predict", {
				body: { instances: ROWS },
			});
			expect(predicted.status).toBe(200);
			expect(predicted.text).toContain("probabilities");
		}, 30_000);

		it("serves gRPC over TLS with the same certificate, and no plaintext gRPC", async () => {
			const address = `127.0.0.1:${node.node.grpcPort}`;
			const secure = new InferenceClient(address, {
				key: OWNER_KEY,
				credentials: credentials.createSsl(fs.readFileSync(certs.ca)),
			});
			const plain = new InferenceClient(address, { key: OWNER_KEY });
			try {
				const answer = await secure.call<{ outputs: { name: string }[] }>("ModelInfer", {
					model_name: "mlp",
					inputs: [{ name: "x", datatype: "FP32", shape: [2, 4] }],
					raw_input_contents: [Buffer.from(Float32Array.from(ROWS.flat()).buffer)],
				});
				expect(answer.outputs.map(o => o.name)).toEqual(["logits", "probabilities"]);
				await expect(plain.call("ServerLive", {}, { deadlineMs: 3000 })).rejects.toThrow();
			} finally {
				secure.close();
				plain.close();
			}
		});

		it("does not answer plain HTTP on its port", async () => {
			const plain = (node.node.httpUrl ?? "").replace("https://", "http://");
			await expect(fetch(`${plain}/health/live`)).rejects.toThrow();
		});

		it("keeps its metadata in PostgreSQL over an encrypted connection", async () => {
			const database = node.node.database;
			expect(database?.engine).toBe("postgres");
			const result = (await database?.db.execute(
				sql`SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()`,
			)) as unknown as { rows: Array<{ ssl: boolean }> };
			expect(result.rows).toEqual([{ ssl: true }]);
		});

		it.each([
			["verify-full with the CA", () => `sslmode=verify-full&sslrootcert=${certs.ca}`],
			["verify-ca with the CA", () => `sslmode=verify-ca&sslrootcert=${certs.ca}`],
			["prefer", () => "sslmode=prefer"],
			["allow (plain refused, then TLS)", () => "sslmode=allow"],
			[
				"require with a client certificate",
				() => `sslmode=require&sslcert=${certs.clientCert}&sslkey=${certs.clientKey}`,
			],
		])("connects with %s", async (_label, query) => {
			const database = await openDatabase({
				databaseUrl: postgres.url(query()),
				dataDir: dir,
			});
			await database.close();
		});

		it.each([
			[
				"verify-full without the CA (a self-signed chain)",
				() => "sslmode=verify-full",
				/self-signed|unable to verify/i,
			],
			[
				"verify-full with another CA",
				() => `sslmode=verify-full&sslrootcert=${certs.otherCa}`,
				/self-signed|unable to verify/i,
			],
			[
				"disable (the server takes TLS only)",
				() => "sslmode=disable",
				/no encryption|pg_hba/,
			],
		])("refuses %s", async (_label, query, error) => {
			await expect(
				openDatabase({ databaseUrl: postgres.url(query()), dataDir: dir }),
			).rejects.toThrow(error);
		});
	},
);
