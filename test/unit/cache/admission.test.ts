import {
	decideAdmission,
	type AdmissionDecision,
	type Incoming,
	type ResidentModel,
} from "../../../lib/cache/admission";

const m = (key: string, bytes: number, pinned = false): ResidentModel => ({ key, bytes, pinned });

interface Case {
	name: string;
	resident: ResidentModel[];
	incoming: Incoming;
	expected: AdmissionDecision;
}

// Budget 100 bytes; residents least recently used first.
const cases: Case[] = [
	{
		name: "admits what fits without evicting",
		resident: [m("a", 40), m("b", 30)],
		incoming: { bytes: 30, pinned: false },
		expected: { admit: true, evict: [], overBudgetBytes: 0 },
	},
	{
		name: "evicts the least recently used first, only as many as needed",
		resident: [m("a", 40), m("b", 30), m("c", 20)],
		incoming: { bytes: 40, pinned: false },
		expected: { admit: true, evict: ["a"], overBudgetBytes: 0 },
	},
	{
		name: "skips pinned models when evicting",
		resident: [m("a", 40, true), m("b", 30), m("c", 20)],
		incoming: { bytes: 40, pinned: false },
		expected: { admit: true, evict: ["b"], overBudgetBytes: 0 },
	},
	{
		name: "refuses an unpinned newcomer that only pinned models keep out, evicting nothing",
		resident: [m("a", 70, true), m("b", 20)],
		incoming: { bytes: 40, pinned: false },
		expected: { admit: false, evict: [], overBudgetBytes: 0 },
	},
	{
		name: "refuses an unpinned newcomer larger than the whole budget",
		resident: [],
		incoming: { bytes: 150, pinned: false },
		expected: { admit: false, evict: [], overBudgetBytes: 0 },
	},
	{
		name: "admits a pinned newcomer over budget after evicting every unpinned model",
		resident: [m("a", 70, true), m("b", 20)],
		incoming: { bytes: 40, pinned: true },
		expected: { admit: true, evict: ["b"], overBudgetBytes: 10 },
	},
	{
		name: "brings an over-budget cache back within budget for a pinned empty newcomer",
		resident: [m("a", 50), m("b", 60, true), m("c", 30)],
		incoming: { bytes: 0, pinned: true },
		expected: { admit: true, evict: ["a"], overBudgetBytes: 0 },
	},
];

describe("decideAdmission", () => {
	it.each(cases)("$name", ({ resident, incoming, expected }) => {
		expect(decideAdmission(resident, incoming, 100)).toEqual(expected);
	});
});
