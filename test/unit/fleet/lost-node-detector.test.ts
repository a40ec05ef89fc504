import { aliveSubject } from "../../../lib/fleet/lost-node-detector";

describe("aliveSubject", () => {
	it("is one subject token per node, whatever characters the node ID holds", () => {
		expect(aliveSubject("MOL-prod", "worker-1")).toBe("MOL-prod.MF-ALIVE.worker-1");
		const odd = aliveSubject("MOL", "host.example.com-12 *>");
		expect(odd.split(".")).toHaveLength(3);
		expect(odd).not.toMatch(/[\s*>]/);
		expect(aliveSubject("MOL", "a.b")).not.toBe(aliveSubject("MOL", "a_b"));
	});
});
