/**
 * Coalescing at the gateway (issue 13), through a fleet of real processes over the real NATS
 * server: concurrent infer requests for one deployed model travel to its replica as fewer
 * transporter messages than requests (counted on the worker's request subject, direct links
 * off), each answer is
 * the one the same request gets alone, and a bad request among good ones fails alone, with the
 * answer it gets alone.
 */
import { randomUUID } from "node:crypto";
import { connect, type NatsConnection } from "nats";
import { GuardedCborSerializer } from "../../lib/fleet/guarded-serializer";
import { JsonAnswer } from "../../lib/http/json-answer";
import { isChunk } from "../../lib/fleet/message-chunks";
import { createPostgresDatabase } from "../support/databases";
import { describeWithServices, serviceUrl } from "../support/external-services";
import { FAST_LOOPS, FleetProcesses } from "../support/fleet-processes";
import { deployAndWait, publishModel, waitForWorkers } from "../support/fleet-api";
import { apiClient } from "../support/test-node";
import { waitFor } from "../support/wait";
import { writeMlpModel } from "../unit/onnx/example-models";

const OWNER_KEY = `mf_coalesce-${randomUUID()}`;
const REQUESTS = 32;
/** The one bad request of a burst: three features where the model takes four. */
const BAD_INDEX = 13;

/** Request `i`: one row of four features that differ per request. */
function requestBody(i: number): string {
	const bad = i === BAD_INDEX;
	return JSON.stringify({
		id: `r${i}`,
		inputs: [
			{
				name: "x",
				datatype: "FP32",
				shape: [1, bad ? 3 : 4],
				data: bad ? [1, 2, 3] : [i, -i / 2, i % 5, 1 - i / 7],
			},
		],
	});
}

describeWithServices(["nats", "postgres"], "coalescing infer calls at the gateway", () => {
	// Usage flushed often, so the test sees every coalesced request metered.
	const cluster = new FleetProcesses("coalesce", {
		...FAST_LOOPS,
		MODELFLEET_USAGE_FLUSH_MS: "300",
	});
	/** Requests sent, and how many of them were bad, for the usage check. */
	const sent = { requests: 0, bad: 0 };
	let database: { url: string; drop(): Promise<void> };
	let base: string;
	let nats: NatsConnection;
	/** Prediction requests from the gateway to the worker since the last reset, as NATS carried them. */
	let requestMessages = 0;
	const actions = new Set<string>();
	/** Answers to the gateway that travelled as their JSON text (lib/http/json-answer.ts). */
	let jsonAnswers = 0;
	/** The fleet's serializer, to read the packets. */
	const serializer = new GuardedCborSerializer(64);

	async function infer(i: number): Promise<{ status: number; body: unknown }> {
		sent.requests++;
		if (i === BAD_INDEX) sent.bad++;
		const response = await fetch(`${base}/v2/models/mlp/infer`, {
			method: "POST",
			headers: { authorization: `Bearer ${OWNER_KEY}`, "content-type": "application/json" },
			body: requestBody(i),
		});
		return { status: response.status, body: await response.json() };
	}

	/** Waits until the NATS server has passed on every message published so far. */
	async function settleNats(): Promise<void> {
		await nats.flush();
		await new Promise(resolve => setTimeout(resolve, 200));
	}

	beforeAll(async () => {
		database = await createPostgresDatabase();
		// Direct links off: the messages are counted where NATS carries them, on the worker's
		// subject (with links, the same messages cross the link; coalescing is the same).
		base = await cluster.startBasicFleet({
			ownerKey: OWNER_KEY,
			databaseUrl: database.url,
			env: { MODELFLEET_DIRECT_LINKS: "off" },
		});
		await waitForWorkers(`${base}/api/v1`, OWNER_KEY, ["worker"]).catch(cluster.failWithLogs);
		await publishModel(`${base}/api/v1`, OWNER_KEY, "mlp", writeMlpModel(), { task: "other" });
		await deployAndWait(`${base}/api/v1`, OWNER_KEY, "mlp").catch(cluster.failWithLogs);
		serializer.init({} as never); // it only needs a broker to report a missing cbor-x
		nats = await connect({ servers: serviceUrl("nats") });
		// Moleculer sends a request for a node on `MOL-<namespace>.REQ.<nodeID>`.
		// Other nodes call the worker too (the scheduler's loads): only the gateway's predictions count.
		nats.subscribe(`MOL-${cluster.namespace}.REQ.worker`, {
			callback: (_err, message) => {
				if (isChunk(message.data)) return; // these requests are far below the payload limit
				const packet = serializer.deserialize(Buffer.from(message.data)) as {
					sender?: string;
					action?: string;
				};
				if (packet.sender === "gateway" && packet.action?.startsWith("predictor.infer")) {
					requestMessages++;
					actions.add(packet.action);
				}
			},
		});
		// Answers come back on `MOL-<namespace>.RES.<nodeID>`: a lone answer, or an inferMany's outcomes.
		nats.subscribe(`MOL-${cluster.namespace}.RES.gateway`, {
			callback: (_err, message) => {
				if (isChunk(message.data)) return;
				const packet = serializer.deserialize(Buffer.from(message.data)) as {
					data?: unknown;
				};
				const values = Array.isArray(packet.data)
					? packet.data.map(outcome => (outcome as { value?: unknown } | null)?.value)
					: [packet.data];
				jsonAnswers += values.filter(value => value instanceof JsonAnswer).length;
			},
		});
		await nats.flush();
	}, 120_000);

	afterAll(async () => {
		await nats?.close();
		await cluster.killAll();
		await database?.drop();
	});

	it("sends concurrent requests as fewer messages, each answered as it is alone, a bad one failing alone", async () => {
		// Alone: one after the other, nothing to coalesce with; one message each.
		const alone = [];
		for (let i = 0; i < REQUESTS; i++) alone.push(await infer(i));
		await settleNats();
		expect(requestMessages).toBe(REQUESTS);
		expect(alone[0].status).toBe(200);
		expect(alone[BAD_INDEX].status).toBe(400);
		// The forwarded requests' answers crossed the bus as their JSON text, written as they came.
		expect(jsonAnswers).toBe(REQUESTS - 1);
		expect(alone[0].body).toMatchObject({
			model_name: "mlp",
			id: "r0",
			parameters: { execution_provider: "cpu" },
			outputs: [
				{ name: "logits", datatype: "FP32", shape: [1, 2] },
				{ name: "probabilities", datatype: "FP32", shape: [1, 2] },
			],
		});

		// At once: the same requests, concurrently. On a loaded machine a burst may arrive
		// spread out; a few bursts give the gateway every chance to group them.
		let fewest = Infinity;
		for (let burst = 0; burst < 3 && fewest >= REQUESTS; burst++) {
			await settleNats();
			requestMessages = 0;
			const together = await Promise.all(
				Array.from({ length: REQUESTS }, (_, i) => infer(i)),
			);
			await settleNats();
			fewest = Math.min(fewest, requestMessages);
			// Every answer, the bad one's error too, is exactly the one it got alone.
			for (let i = 0; i < REQUESTS; i++) {
				expect({ i, ...together[i] }).toEqual({ i, ...alone[i] });
			}
		}
		console.log(`coalescing: ${REQUESTS} concurrent requests travelled as ${fewest} messages`);
		expect(fewest).toBeLessThan(REQUESTS);
		expect([...actions].sort()).toEqual(["predictor.infer", "predictor.inferMany"]);
	}, 120_000);

	it("meters each coalesced request as if it came alone", async () => {
		const expected = {
			requests: sent.requests,
			errors: sent.bad,
			rows: sent.requests - sent.bad,
		};
		expect(expected.requests).toBeGreaterThan(REQUESTS);
		const usage = await waitFor(
			`usage of ${expected.requests} requests`,
			async () => {
				const reply = await apiClient(
					`${base}/api/v1`,
					OWNER_KEY,
				)("/usage?granularity=day");
				const rows = (reply.body as { usage?: Array<Record<string, unknown>> }).usage ?? [];
				const mlp = rows.filter(r => r.model === "mlp");
				const requests = mlp.reduce((sum, r) => sum + Number(r.requests), 0);
				return requests >= expected.requests ? mlp : undefined;
			},
			20_000,
			200,
		);
		const total = (field: string) => usage.reduce((sum, r) => sum + Number(r[field]), 0);
		expect({
			requests: total("requests"),
			errors: total("errors"),
			rows: total("rows"),
		}).toEqual(expected);
	}, 60_000);
});
