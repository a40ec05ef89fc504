import { versionFiles } from "../../../lib/registry/version-files";

const A = "a".repeat(64);
const B = "b".repeat(64);

describe("versionFiles", () => {
	it("lists the served file under its uploaded name, and the files kept beside it", () => {
		expect(
			versionFiles({
				format: "onnx",
				artifact: { sha256: A, size: 10 },
				details: {
					fileName: "C:\\models\\iris.onnx",
					alternates: [{ format: "tfjs", artifact: { sha256: B, size: 20 } }],
				},
			}),
		).toEqual([
			{ path: "iris.onnx", sha256: A, size: 10, format: "onnx", kind: "model" },
			{ path: "model-tfjs.tar", sha256: B, size: 20, format: "tfjs", kind: "alternate" },
		]);
	});

	it("names a file by its format when its uploaded name is missing or unsafe", () => {
		const named = (fileName: unknown, format: "onnx" | "tfjs" | "xgboost-json") =>
			versionFiles({ format, artifact: { sha256: A, size: 1 }, details: { fileName } })[0]
				.path;
		expect(named(undefined, "onnx")).toBe("model.onnx");
		expect(named("..", "xgboost-json")).toBe("model.json");
		expect(named(".hidden", "tfjs")).toBe("model.tar");
		expect(named("a b.onnx", "onnx")).toBe("model.onnx");
	});

	it("keeps every path distinct, and lists nothing for a version without files", () => {
		const files = versionFiles({
			format: "tfjs",
			artifact: { sha256: A, size: 1 },
			details: {
				fileName: "model-tfjs.tar",
				alternates: [{ format: "tfjs", artifact: { sha256: B, size: 2 } }, { bad: true }],
			},
		});
		expect(files.map(f => f.path)).toEqual(["model-tfjs.tar", "model-tfjs-2.tar"]);
		expect(versionFiles({ format: "onnx", artifact: null, details: {} })).toEqual([]);
	});
});
