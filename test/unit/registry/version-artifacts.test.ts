import { alternateArtifacts, versionArtifacts } from "../../../lib/registry/version-artifacts";

const A = "a".repeat(64);
const B = "b".repeat(64);

describe("versionArtifacts", () => {
	it.each<[string, Parameters<typeof versionArtifacts>[0], string[]]>([
		["no artifact", {}, []],
		["a null artifact", { artifact: null }, []],
		["the served file", { artifact: { sha256: A } }, [A]],
		[
			"the served file, then the kept exports",
			{
				artifact: { sha256: A },
				details: { alternates: [{ format: "tfjs", artifact: { sha256: B } }] },
			},
			[A, B],
		],
		[
			"an export without a served file",
			{ details: { alternates: [{ artifact: { sha256: B } }] } },
			[B],
		],
	])("names %s", (_what, version, hashes) => {
		expect(versionArtifacts(version)).toEqual(hashes);
	});
});

describe("alternateArtifacts", () => {
	it.each<[string, unknown]>([
		["no details", undefined],
		["null details", null],
		["alternates that are no list", { alternates: { artifact: { sha256: A } } }],
		["entries without a hash", { alternates: [null, 3, {}, { artifact: { sha256: 7 } }] }],
	])("names nothing for %s", (_what, details) => {
		expect(alternateArtifacts(details)).toEqual([]);
	});
});
