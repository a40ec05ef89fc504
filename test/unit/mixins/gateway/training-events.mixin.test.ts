import type { Readable } from "node:stream";
import { ServiceBroker } from "moleculer";
import { accessMiddleware } from "../../../../lib/accounts/access";
import { EVENTS } from "../../../../lib/events";
import { trainingEventsMixin } from "../../../../mixins/gateway/training-events.mixin";
import { signedMeta, testTrust } from "../../../support/fleet-secret";

const JOB_ID = "6f1c1f4e-3b7a-4f57-9a44-9d2b6f0e8a11";
const META = signedMeta("t1", "viewer", "k1");

function job(state: string) {
	return {
		id: JOB_ID,
		state,
		nodeID: "trainer-1",
		epoch: 1,
		progress: [{ epoch: 1, metrics: { loss: 0.5 } }],
		result: state === "completed" ? { version: "1.0.0" } : null,
		error: null,
	};
}

async function start(state: string) {
	const broker = new ServiceBroker({
		logger: false,
		middlewares: [accessMiddleware(testTrust())],
	});
	broker.createService({ name: "scheduler", actions: { "jobs.get": () => job(state) } });
	broker.createService({ name: "gw", mixins: [trainingEventsMixin({ maxStreamsPerKey: 1 })] });
	await broker.start();
	return broker;
}

/** What a stream has written so far. */
function written(stream: Readable): string {
	const chunks: Buffer[] = [];
	let chunk: Buffer | null;
	while ((chunk = stream.read() as Buffer | null) !== null) chunks.push(chunk);
	return Buffer.concat(chunks).toString("utf8");
}

describe("trainingEventsMixin", () => {
	it("streams the backlog, then the trainers' events, until the job ends", async () => {
		const broker = await start("running");
		try {
			const stream = await broker.call<Readable, { id: string }>(
				"gw.trainingEvents",
				{ id: JOB_ID },
				{ meta: META },
			);
			broker.broadcast(EVENTS.trainingProgress, {
				jobId: JOB_ID,
				nodeID: "trainer-1",
				epoch: 2,
				epochs: 3,
				metrics: { loss: 0.25 },
				samplesPerSecond: 100,
				etaMs: 10,
			});
			broker.broadcast(EVENTS.trainingFailed, {
				jobId: JOB_ID,
				nodeID: "trainer-1",
				reason: "out of memory",
				final: true,
			});
			await new Promise(resolve => setImmediate(resolve));
			const text = written(stream);
			expect(text).toContain('event: state\ndata: {"state":"running"');
			expect(text).toContain('"epoch":1');
			expect(text).toContain('event: progress\ndata: {"epoch":2,"epochs":3');
			expect(text).toContain('event: end\ndata: {"state":"failed","error":"out of memory"}');
		} finally {
			await broker.stop();
		}
	});

	it("ends the stream of a finished job at once, and limits the streams one key holds open", async () => {
		const broker = await start("completed");
		try {
			const stream = await broker.call<Readable, { id: string }>(
				"gw.trainingEvents",
				{ id: JOB_ID },
				{ meta: META },
			);
			await new Promise(resolve => setImmediate(resolve));
			expect(written(stream)).toContain('event: end\ndata: {"state":"completed"');
		} finally {
			await broker.stop();
		}
		const running = await start("running");
		try {
			await running.call("gw.trainingEvents", { id: JOB_ID }, { meta: META });
			await expect(
				running.call("gw.trainingEvents", { id: JOB_ID }, { meta: META }),
			).rejects.toMatchObject({ code: 429, type: "TOO_MANY_IN_FLIGHT" });
		} finally {
			await running.stop();
		}
	});
});
