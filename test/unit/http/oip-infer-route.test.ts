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
