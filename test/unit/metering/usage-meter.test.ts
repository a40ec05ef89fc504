import { hourOf, dayOf } from "../../../lib/metering/usage-counts";
import { UsageMeter, type PredictionUsage } from "../../../lib/metering/usage-meter";

const T = "11111111-1111-4111-8111-111111111111";
const HOUR = 3_600_000;

function prediction(over: Partial<PredictionUsage> = {}): PredictionUsage {
	return {
		tenant: T,
		model: "mlp",
		version: "1.0.0",
		rows: 2,
		failed: false,
		ms: 3.4,
		gpu: false,
		bytesIn: 32,
		bytesOut: 16,
		...over,
	};
}

describe("hour and day buckets", () => {
	it("round down to the UTC hour and day", () => {
		const t = Date.parse("2026-03-04T05:59:59.999Z");
		expect(new Date(hourOf(t)).toISOString()).toBe("2026-03-04T05:00:00.000Z");
		expect(new Date(dayOf(t)).toISOString()).toBe("2026-03-04T00:00:00.000Z");
		expect(hourOf(Date.parse("2026-03-04T06:00:00Z"))).toBe(hourOf(t) + HOUR);
	});
});

describe("UsageMeter", () => {
	it("adds up requests per tenant, model, version and hour, failures apart", () => {
		let now = Date.parse("2026-03-04T05:10:00Z");
		const meter = new UsageMeter({ node: "w1/predictor", now: () => now });
		meter.prediction(prediction());
		meter.prediction(prediction({ gpu: true, ms: 10 }));
		meter.prediction(prediction({ failed: true, rows: 0, bytesOut: 0 }));
		now += HOUR;
		meter.prediction(prediction());
		const [record] = meter.takeFlush();
		expect(record).toMatchObject({ node: "w1/predictor", seq: 1 });
		expect(record.rows).toEqual([
			expect.objectContaining({
				hour: "2026-03-04T05:00:00.000Z",
				requests: 3,
				rows: 4,
				errors: 1,
				cpuMs: 6,
				gpuMs: 10,
				bytesIn: 96,
				bytesOut: 32,
			}),
			expect.objectContaining({ hour: "2026-03-04T06:00:00.000Z", requests: 1, rows: 2 }),
		]);
	});

	it("counts training seconds by device kind, under the model without a version", () => {
		const meter = new UsageMeter({ node: "w1/trainer" });
		meter.training(T, "iris", 12, false);
		meter.training(T, "iris", 3, true);
		expect(meter.takeFlush()[0].rows).toEqual([
			expect.objectContaining({
				model: "iris",
				version: "",
				trainingCpuS: 12,
				trainingGpuS: 3,
			}),
		]);
	});

	it("sends a record again, under the same key, until it is acknowledged", () => {
		const meter = new UsageMeter({ node: "n", incarnation: "i1" });
		meter.prediction(prediction());
		const first = meter.takeFlush();
		meter.prediction(prediction());
		const second = meter.takeFlush();
		expect(second.map(r => r.seq)).toEqual([1, 2]);
		expect(second[0]).toEqual(first[0]);
		meter.acknowledge(1);
		expect(meter.takeFlush().map(r => r.seq)).toEqual([2]);
		meter.acknowledge(2);
		expect(meter.takeFlush()).toEqual([]);
		expect(meter.idle).toBe(true);
	});

	it("keeps at most maxPending records while flushes fail, and counts those dropped", () => {
		const meter = new UsageMeter({ node: "n", maxPending: 2 });
		for (let i = 0; i < 3; i++) {
			meter.prediction(prediction());
			meter.takeFlush();
		}
		expect(meter.takeFlush().map(r => r.seq)).toEqual([2, 3]);
		expect(meter.dropped).toBe(1);
	});

	it("takes a new incarnation at every start, so a restarted node's keys never collide", () => {
		expect(new UsageMeter({ node: "n" }).incarnation).not.toBe(
			new UsageMeter({ node: "n" }).incarnation,
		);
	});
});
