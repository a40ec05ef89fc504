import { EventStreams } from "../../../lib/http/event-stream";

describe("EventStreams owners", () => {
	it("counts each owner's open streams until they close, however they close", async () => {
		const streams = new EventStreams();
		const a1 = streams.open("job-1", [], "key-a");
		const a2 = streams.open("job-2", [], "key-a");
		streams.open("job-1", [], "key-b");
		expect(streams.openBy("key-a")).toBe(2);
		a1.destroy(); // the client went away
		streams.close("job-2", "end", {}); // the job ended
		a2.resume();
		await new Promise(resolve => setImmediate(resolve));
		expect(streams.openBy("key-a")).toBe(0);
		expect(streams.openBy("key-b")).toBe(1);
	});
});
