import { InvalidConfigurationError } from "../../../lib/errors";
import {
	DEFAULT_RUNTIME_LOAD_OPTIONS,
	resolveRuntimeLoadOptions,
	warnUnlessPreferred,
} from "../../../lib/runtimes/runtime-load-options";

describe("resolveRuntimeLoadOptions", () => {
	it("defaults to the CPU and one thread each, never the runtime's all cores", () => {
		const resolved = resolveRuntimeLoadOptions();
		expect(resolved).toMatchObject({
			executionProviders: ["cpu"],
			intraOpThreads: 1,
			interOpThreads: 1,
		});
		expect(resolved.warn).toBe(DEFAULT_RUNTIME_LOAD_OPTIONS.warn);
		expect(Object.isFrozen(resolved)).toBe(true);
	});

	it("keeps what is given, provider names in lower case", () => {
		const warn = () => undefined;
		expect(
			resolveRuntimeLoadOptions({
				executionProviders: ["CUDA", " cpu"],
				intraOpThreads: 4,
				interOpThreads: 2,
				warn,
			}),
		).toEqual({
			executionProviders: ["cuda", "cpu"],
			intraOpThreads: 4,
			interOpThreads: 2,
			warn,
		});
	});

	it("names every wrong option at once", () => {
		let error: unknown;
		try {
			resolveRuntimeLoadOptions({
				intraOpThreads: 1.5,
				interOpThreads: -1,
				executionProviders: [],
			});
		} catch (e) {
			error = e;
		}
		expect(error).toBeInstanceOf(InvalidConfigurationError);
		const { problems } = (error as InvalidConfigurationError).data as {
			problems: { setting: string }[];
		};
		expect(problems.map(p => p.setting)).toEqual([
			"intraOpThreads",
			"interOpThreads",
			"executionProviders",
		]);
	});
});

describe("warnUnlessPreferred", () => {
	it("warns only when the first choice is not met", () => {
		const warn = jest.fn();
		const options = (executionProviders: string[]) =>
			resolveRuntimeLoadOptions({ executionProviders, warn });
		warnUnlessPreferred(options(["cpu"]), "X", "js", ["cpu", "js"]);
		warnUnlessPreferred(options(["js", "cuda"]), "X", "js", ["cpu", "js"]);
		expect(warn).not.toHaveBeenCalled();
		warnUnlessPreferred(options(["cuda", "cpu"]), "X", "js", ["cpu", "js"]);
		expect(warn).toHaveBeenCalledWith(
			"X: execution provider 'cuda' is not available to this runtime; running on 'js' instead.",
		);
	});
});
