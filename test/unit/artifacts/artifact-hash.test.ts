import { normalizeSha256, requireSha256 } from "../../../lib/artifacts/artifact-hash";
import { InvalidInputError } from "../../../lib/errors";

const HASH = "0123456789abcdef".repeat(4);

describe("normalizeSha256", () => {
	it.each([
		[HASH, HASH],
		[HASH.toUpperCase(), HASH],
		[`sha256:${HASH}`, HASH],
		[HASH.slice(1), null],
		[`${HASH}0`, null],
		["g".repeat(64), null],
		[`md5:${HASH}`, null],
		["", null],
	])("%s → %s", (input, expected) => {
		expect(normalizeSha256(input)).toBe(expected);
	});
});

describe("requireSha256", () => {
	it("answers 400 naming the field for something that is not a sha256", () => {
		expect(() => requireSha256("abc", "expectedSha256")).toThrow(InvalidInputError);
		expect(() => requireSha256("abc", "expectedSha256")).toThrow(
			/expectedSha256 must be 64 hex/,
		);
	});
});
