import { matchInferRoute } from "../../../lib/http/oip-infer-route";

describe("matchInferRoute", () => {
	it("takes POST /v2/models/{model}[/versions/{version}]/infer, decoding its parameters", () => {
		expect(matchInferRoute("POST", "/v2/models/mlp/infer")).toEqual({ model: "mlp" });
		expect(matchInferRoute("POST", "/v2/models/mlp/versions/1/infer")).toEqual({
			model: "mlp",
			version: "1",
		});
		expect(matchInferRoute("POST", "/v2/models/iris%40champion/infer?x=1")).toEqual({
			model: "iris@champion",
		});
	});

	it("takes the version query when the path names none (the path's wins)", () => {
		expect(matchInferRoute("POST", "/v2/models/mlp/infer?version=9.9.9")).toEqual({
			model: "mlp",
			version: "9.9.9",
		});
		expect(matchInferRoute("POST", "/v2/models/mlp/infer/?a=1&version=2%2E0")).toEqual({
			model: "mlp",
			version: "2.0",
		});
		expect(matchInferRoute("POST", "/v2/models/mlp/versions/1/infer?version=9")).toEqual({
			model: "mlp",
			version: "1",
		});
		expect(matchInferRoute("POST", "/v2/models/mlp/infer?version=")).toEqual({ model: "mlp" });
		expect(
			matchInferRoute("POST", `/v2/models/mlp/infer?version=${"9".repeat(200)}`),
		).toBeNull();
	});

	it("leaves every other request, and malformed names, to moleculer-web", () => {
		expect(matchInferRoute("GET", "/v2/models/mlp/infer")).toBeNull();
		expect(matchInferRoute("POST", "/v2/models/mlp")).toBeNull();
		expect(matchInferRoute("POST", "/v2/models/mlp/ready")).toBeNull();
		expect(matchInferRoute("POST", "/api/v1/models/mlp/predict")).toBeNull();
		expect(matchInferRoute("POST", "/v2/models/%E0%A4%A/infer")).toBeNull();
		expect(matchInferRoute("POST", `/v2/models/${"m".repeat(300)}/infer`)).toBeNull();
		expect(matchInferRoute(undefined, undefined)).toBeNull();
	});
});
