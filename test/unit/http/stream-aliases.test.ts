import { streamAliasMatcher } from "../../../lib/http/stream-aliases";

describe("streamAliasMatcher", () => {
	const isStream = streamAliasMatcher({
		"POST models/:model/versions/upload": "stream:api.uploadVersion",
		"POST datasets": "stream:api.uploadDataset",
		"POST models": "registry.models.create",
		"GET datasets": "registry.datasets.list",
	});

	it("knows the upload routes, whatever their parameters and query", () => {
		expect(isStream("POST", "/api/v1/models/iris/versions/upload?version=1.0.0")).toBe(true);
		expect(isStream("post", "/datasets?name=iris")).toBe(true);
	});

	it("leaves every other route to the JSON parser", () => {
		expect(isStream("POST", "/api/v1/models")).toBe(false);
		expect(isStream("GET", "/api/v1/datasets")).toBe(false);
		expect(isStream("POST", "/api/v1/models/iris/versions/upload/extra")).toBe(false);
		expect(isStream(undefined, undefined)).toBe(false);
	});
});
