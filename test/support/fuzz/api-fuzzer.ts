/**
 * A seeded generator of hostile requests for every route family of a gateway: the REST API
 * (registry, datasets, training jobs, deployments, keys, tenants, quotas, usage, audit, nodes,
 * domain events and webhooks), uploads, batch predictions, the training and domain event
 * streams, the Open Inference Protocol (metadata, infer as JSON and binary, the model
 * repository), health and the OpenAPI document. Each request
 * starts from a well-formed one and is then spoiled the way an attacker would: JSON mutations
 * (nulls, wrong types, huge numbers, unknown and prototype keys), nesting thousands deep,
 * NUL bytes, lone surrogates and invalid UTF-8 in any field, path or query, bad cursors and
 * limits, lying lengths, truncated multipart forms, another tenant's names, and every kind of
 * key (each role, another tenant's owner, none, a bad one).
 */
import * as zlib from "node:zlib";
import type { SeededRandom } from "../../../lib/datasets/seeded-random";

/** The names and keys of what exists on the gateway under test. */
export interface FuzzWorld {
	/** Keys of the tenant under test by role, and the owner key of a second tenant. */
	keys: {
		owner: string;
		developer: string;
		predictor: string;
		viewer: string;
		otherOwner: string;
	};
	/** The tenant's served model (an MLP: x FP32 [n, 4]) and its version. */
	model: string;
	version: string;
	/** The other tenant's model: never reachable with this tenant's keys. */
	otherModel: string;
	/** A dataset reference (`name@version`) and a training job id of the tenant. */
	dataset: string;
	jobId: string;
	/** Hashes of blobs: the tenant's own model file and the other tenant's. */
	ownBlob: string;
	otherBlob: string;
}

export interface FuzzRequest {
	/** The route family, for the summary. */
	family: string;
	method: string;
	/** Path and query, already encoded (may hold raw escapes on purpose). */
	path: string;
	headers: Record<string, string>;
	body?: Buffer;
	/**
	 * Sent on a raw socket: `lie` sends a Content-Length longer than the body and closes the
	 * socket after it; `raw` sends the bytes as they are (a path with raw non-UTF-8 bytes).
	 */
	socket?: "lie" | "raw";
	/** A streaming answer (SSE): headers are enough, the body is dropped. */
	stream?: boolean;
}

/** A placeholder that `render` replaces with JSON nested thousands deep. */
const DEEP = "\u0001deep\u0001";

const WEIRD_STRINGS = [
	"",
	"\u0000",
	"a\u0000b",
	"\ud800",
	"\udfff x",
	"ü".repeat(40),
	"🙂".repeat(20),
	"\u202e\u202d",
	"x".repeat(5000),
	"../../etc/passwd",
	"%00",
	"'; DROP TABLE models; --",
	"<script>",
	"1e400",
	"NaN",
	"__proto__",
	DEEP,
] as const;

const WEIRD_NUMBERS = [0, -1, 1.5, -0, 2 ** 31, 2 ** 53, 2 ** 64, 1e308, -1e308, 5e-324, 1e21];

const WEIRD_SEGMENTS = [
	"a%00b",
	"%00",
	"%FF",
	"%C3%28",
	"%E0%A4%A",
	"%ED%A0%80",
	"..%2F..",
	"%2e%2e",
	"x".repeat(300),
	encodeURIComponent("ü🙂"),
	"%20",
	"a%2Fb",
	"mlp@champion",
	"mlp@%00",
	"00000000-0000-0000-0000-000000000000",
	"not-a-uuid",
	"1",
	"-1",
	"99999999999999999999",
];

const CURSORS = [
	"abc",
	"1e400",
	"eyJ4IjoxfQ",
	"9223372036854776000",
	"-1",
	"",
	"%00",
	"%FF%FE",
	"eyJ0IjoiXHUwMDAwIn0",
	"bnVsbA",
	"W10",
	"e30",
	"eyJpZCI6bnVsbCwidCI6MX0",
	"eyJ0IjoiOTk5OTk5LTAxLTAxIiwiaWQiOiJ4In0",
	"!!!!",
	"a".repeat(3000),
];

const LIMITS = ["-5", "0", "1", "1e9", "abc", "%00", "1.5", "100000", "", "9223372036854775808"];

/** The well-formed shape of each REST route's JSON body, before it is spoiled. */
type BodyMaker = (w: FuzzWorld, f: ApiFuzzer) => unknown;

/** A REST route as the fuzzer (and the null sweep, test/integration/null-as-absent.test.ts) sends it. */
export interface RestRoute {
	family: string;
	method: string;
	/** Path under /api/v1 with `:params`. */
	path: string;
	body?: BodyMaker;
	query?: "list" | "usage";
	stream?: boolean;
}

export const REST_ROUTES: readonly RestRoute[] = [
	{ family: "nodes", method: "GET", path: "/nodes" },
	{ family: "tenants", method: "GET", path: "/tenant" },
	{ family: "tenants", method: "GET", path: "/tenants" },
	{
		family: "tenants",
		method: "POST",
		path: "/tenants",
		body: (_w, f) => ({ name: `fz-${f.int(1e6)}`, isAdmin: false }),
	},
	{ family: "usage", method: "GET", path: "/usage", query: "usage" },
	{ family: "quotas", method: "GET", path: "/tenants/:tenantId/quotas" },
	{
		family: "quotas",
		method: "PUT",
		path: "/tenants/:tenantId/quotas",
		body: (_w, f) => ({
			models: f.pick([1, 0, -1, 1.5, null, "3", 1e300]),
			predictionsPerMinute: f.pick([100, null, {}, []]),
			...(f.chance(0.3) ? { [f.pick(["gpu", "__proto__", "constructor"])]: 1 } : {}),
		}),
	},
	{ family: "keys", method: "GET", path: "/keys" },
	{
		family: "keys",
		method: "POST",
		path: "/keys",
		body: (_w, f) => ({
			name: `fz-${f.int(1000)}`,
			role: f.pick(["viewer", "predictor", "developer", "owner", "admin"]),
			expiresAt: f.pick(["2030-01-01T00:00:00Z", "yesterday", "1e400"]),
		}),
	},
	{ family: "keys", method: "DELETE", path: "/keys/:keyId" },
	{ family: "models", method: "GET", path: "/models", query: "list" },
	{
		family: "models",
		method: "POST",
		path: "/models",
		body: (_w, f) => ({
			name: `fz-${f.int(1e6)}`,
			task: f.pick(["classification", "regression", "other"]),
			framework: f.pick(["onnx", "tfjs", "xgboost"]),
			description: "fuzzed",
			tags: { team: "fuzz" },
		}),
	},
	{ family: "models", method: "GET", path: "/models/:model" },
	{
		family: "models",
		method: "PATCH",
		path: "/models/:scratch",
		body: () => ({ description: "changed", tags: { a: "b" } }),
	},
	{ family: "models", method: "DELETE", path: "/models/:scratch" },
	{ family: "versions", method: "GET", path: "/models/:model/versions", query: "list" },
	{
		family: "versions",
		method: "POST",
		path: "/models/:scratch/versions",
		body: (w, f) => ({
			version: f.pick(["9.9.9", "1.0.0", "x"]),
			format: f.pick(["onnx", "xgboost-json", "pickle"]),
			artifact: { sha256: f.pick([w.ownBlob, w.otherBlob, "0".repeat(64)]), size: 1000 },
		}),
	},
	{ family: "versions", method: "GET", path: "/models/:model/versions/:version" },
	{
		family: "versions",
		method: "PATCH",
		path: "/models/:scratch/versions/:version",
		body: () => ({ description: "d", metrics: { accuracy: 0.9 } }),
	},
	{
		family: "versions",
		method: "POST",
		path: "/models/:scratch/versions/:version/transition",
		body: (_w, f) => ({ to: f.pick(["Validated", "Deployed", "Archived", "Trained"]) }),
	},
	{ family: "aliases", method: "GET", path: "/models/:model/aliases" },
	{
		family: "aliases",
		method: "PUT",
		path: "/models/:scratch/aliases/:alias",
		body: w => ({ version: w.version }),
	},
	{ family: "aliases", method: "DELETE", path: "/models/:scratch/aliases/:alias" },
	{
		family: "versions",
		method: "POST",
		path: "/models/:scratch/versions/import",
		body: (w, f) => ({
			artifact: f.pick([w.ownBlob, w.otherBlob, "f".repeat(64)]),
			version: "7.7.7",
			format: f.pick(["onnx", "xgboost-json", "tfjs"]),
		}),
	},
	{ family: "audit", method: "GET", path: "/audit", query: "list" },
	{ family: "datasets", method: "GET", path: "/datasets", query: "list" },
	{ family: "datasets", method: "GET", path: "/datasets/:dataset" },
	{
		family: "training",
		method: "POST",
		path: "/training-jobs",
		body: (w, f) => ({
			target: f.pick([w.model, w.otherModel, "fz-1"]),
			dataset: w.dataset,
			labelColumn: f.pick(["label", "nope"]),
			epochs: f.pick([1, 0, -1, 1e9]),
			seed: 3,
			model: { layers: [{ units: 4, activation: "relu" }] },
			earlyStopping: { monitor: "val_loss", patience: 1 },
		}),
	},
	{ family: "training", method: "GET", path: "/training-jobs", query: "list" },
	{ family: "training", method: "GET", path: "/training-jobs/:job" },
	{ family: "training", method: "POST", path: "/training-jobs/:job/cancel" },
	{ family: "training", method: "GET", path: "/training-jobs/:job/events", stream: true },
	{ family: "deployments", method: "GET", path: "/deployments", query: "list" },
	{
		family: "deployments",
		method: "POST",
		path: "/deployments",
		body: (w, f) => ({
			model: f.pick([w.model, "fz-none"]),
			version: w.version,
			replicas: f.pick([1, 0, 1e6, -1]),
			resources: { cpu: 1, memory: "1GiB" },
			autoscaling: { minReplicas: 1, maxReplicas: 2, targetOngoingRequests: 2 },
		}),
	},
	{ family: "deployments", method: "GET", path: "/deployments/:model" },
	{
		family: "deployments",
		method: "PATCH",
		path: "/deployments/:scratch",
		body: (w, f) => ({
			traffic: [{ version: w.version, weight: f.pick([100, 0, -5, 1e9]) }],
			replicas: 1,
		}),
	},
	{ family: "deployments", method: "DELETE", path: "/deployments/:scratch" },
	{
		family: "deployments",
		method: "POST",
		path: "/deployments/:scratch/scale",
		body: (_w, f) => ({ replicas: f.pick([1, 2, 0, -1, 1e9]) }),
	},
	{
		family: "deployments",
		method: "POST",
		path: "/deployments/:scratch/promote",
		body: () => ({}),
	},
	{
		family: "deployments",
		method: "POST",
		path: "/deployments/:scratch/rollback",
		body: () => ({}),
	},
	{
		family: "monitoring",
		method: "GET",
		path: "/deployments/:model/drift",
		query: "list",
	},
	{ family: "monitoring", method: "GET", path: "/deployments/:model/health" },
	{
		family: "monitoring",
		method: "GET",
		path: "/deployments/:model/captures",
	},
	{
		family: "monitoring",
		method: "POST",
		path: "/models/:model/feedback",
		body: (_w, f) => ({
			items: f.pick<unknown>([
				[{ id: "p1", label: "1" }],
				[{ id: "p1", row: -1, label: 1 }],
				[{ id: "", label: null }],
				[],
				"x",
				Array.from({ length: 3 }, () => ({ id: "p", label: { deep: [1] } })),
			]),
		}),
	},
	{
		family: "explain",
		method: "POST",
		path: "/models/:model/explain",
		body: (_w, f) => ({
			...(f.inferBody() as Record<string, unknown>),
			nsamples: f.pick([64, 0, -1, 1e9, 2 ** 53]),
			background: f.pick<unknown>([
				[[0, 0, 0, 0]],
				{ dataset: "iris@1", rows: 1e9 },
				"x",
				[],
			]),
			output: f.pick<unknown>([0, 1, "logits", -1, null]),
		}),
	},
	{
		family: "explain",
		method: "POST",
		path: "/models/:model/versions/:version/importance",
		body: (_w, f) => ({
			dataset: f.pick<unknown>(["iris@1", "no-such", "", 7, null]),
			rows: f.pick<unknown>([10, 0, -1, 1e9, "x"]),
			repeats: f.pick<unknown>([1, 0, 51, 2 ** 53]),
			labelColumn: f.pick<unknown>([undefined, "label", "nope", ""]),
			metric: f.pick<unknown>([undefined, "accuracy", "rmse", "auc"]),
		}),
	},
	{ family: "downloads", method: "GET", path: "/models/:model/versions/:version/files" },
	{
		family: "downloads",
		method: "GET",
		path: "/models/:model/versions/:version/files/:file",
	},
	{ family: "nodes", method: "DELETE", path: "/nodes/:node" },
	{ family: "events", method: "GET", path: "/events?after=:after&type=:eventType&limit=:limit" },
	{
		family: "events",
		method: "GET",
		path: "/events/stream?after=:after&type=:eventType",
		stream: true,
	},
	{ family: "webhooks", method: "GET", path: "/webhooks" },
	{
		family: "webhooks",
		method: "POST",
		path: "/webhooks",
		// Only targets the gateway refuses: loopback, private, mapped, odd schemes, credentials.
		body: (_w, f) => ({
			url: f.pick<unknown>([
				"http://127.0.0.1:1/hook",
				"http://[::ffff:127.0.0.1]/",
				"http://[::1]/",
				"http://10.0.0.1/",
				"http://169.254.169.254/latest/meta-data",
				"http://0x7f000001/",
				"http://localhost/",
				"javascript:alert(1)",
				"file:///etc/passwd",
				"https://user:pw@10.1.1.1/",
				"",
				42,
				"x".repeat(5000),
			]),
			eventTypes: f.pick<unknown>([["*"], ["model.*"], ["nope"], [], "x", [1], null]),
			description: f.pick<unknown>(["d", 7, "\u0000"]),
		}),
	},
	{ family: "webhooks", method: "GET", path: "/webhooks/:hook" },
	{
		family: "webhooks",
		method: "PATCH",
		path: "/webhooks/:hook",
		body: (_w, f) => ({
			url: f.pick<unknown>(["http://127.0.0.1/", "ftp://x/", undefined]),
			eventTypes: f.pick<unknown>([["*"], [], undefined]),
			enabled: f.pick<unknown>([true, "yes", undefined]),
			rotateSecret: f.pick<unknown>([true, 1, undefined]),
		}),
	},
	{ family: "webhooks", method: "DELETE", path: "/webhooks/:hook" },
	{
		family: "webhooks",
		method: "GET",
		path: "/webhooks/:hook/deliveries?state=:deliveryState&cursor=:after",
	},
	{ family: "webhooks", method: "POST", path: "/webhooks/:hook/deliveries/:hook/redeliver" },
	{
		family: "predict",
		method: "POST",
		path: "/models/:model/predict",
		body: (_w, f) => f.inferBody(),
	},
	{
		family: "predict",
		method: "POST",
		path: "/models/:model/versions/:version/predict",
		body: (_w, f) => f.inferBody(),
	},
];

export class ApiFuzzer {
	constructor(
		private readonly random: SeededRandom,
		private readonly world: FuzzWorld,
	) {}

	int(max: number): number {
		return this.random.int(max);
	}
	pick<T>(items: readonly T[]): T {
		return items[this.random.int(items.length)];
	}
	chance(p: number): boolean {
		return this.random.next() < p;
	}

	/** The next request: a route family chosen by weight, then spoiled. */
	next(): FuzzRequest {
		const roll = this.int(100);
		if (roll < 40) return this.rest();
		if (roll < 60) return this.infer();
		if (roll < 68) return this.oipOther();
		if (roll < 78) return this.upload();
		if (roll < 84) return this.batchPredict();
		if (roll < 88) return this.publicRoute();
		return this.lyingRequest();
	}

	// --- keys ---

	auth(): Record<string, string> {
		const keys = this.world.keys;
		const roll = this.int(20);
		if (roll < 6) return { authorization: `Bearer ${keys.owner}` };
		if (roll < 9) return { authorization: `Bearer ${keys.developer}` };
		if (roll < 11) return { authorization: `Bearer ${keys.predictor}` };
		if (roll < 13) return { authorization: `Bearer ${keys.viewer}` };
		if (roll < 16) return { "x-api-key": keys.otherOwner };
		return this.pick<Record<string, string>>([
			{},
			{ authorization: "Bearer mf_nope" },
			{ authorization: "Bearer" },
			{ authorization: `Basic ${Buffer.from("a:b").toString("base64")}` },
			{ authorization: `Bearer ${"k".repeat(5000)}` },
			{ "x-api-key": "" },
			{ "x-api-key": "mf_\u00ff" },
			{ authorization: `Bearer ${keys.owner}x` },
		]);
	}

	// --- values ---

	/** A value of any JSON type, sometimes odd. */
	value(depth = 0): unknown {
		switch (this.int(depth > 2 ? 6 : 8)) {
			case 0:
				return null;
			case 1:
				return this.chance(0.5);
			case 2:
				return this.pick(WEIRD_NUMBERS);
			case 3:
			case 4:
				return this.pick(WEIRD_STRINGS);
			case 5:
				return this.int(1000) - 500;
			case 6:
				return Array.from({ length: this.int(5) }, () => this.value(depth + 1));
			default:
				return Object.fromEntries(
					Array.from({ length: this.int(4) }, (_, i) => [
						this.pick(["name", "__proto__", "constructor", "\u0000", `k${i}`]),
						this.value(depth + 1),
					]),
				);
		}
	}

	/** A path segment: the well-formed one usually, else something hostile. */
	segment(valid: string): string {
		if (this.chance(0.7)) return encodeURIComponent(valid);
		if (this.chance(0.2)) return encodeURIComponent(this.world.otherModel);
		return this.pick(WEIRD_SEGMENTS);
	}

	/** A query string for a list route (or any route, now and then). */
	/** The usage report's parameters, odd ones among them. */
	usageQuery(): string {
		const parts: string[] = [];
		const times = [
			"2026-01-01",
			"0",
			"-1",
			"1e20",
			"yesterday",
			"%00",
			"2026-13-45T99:00Z",
			"",
		];
		if (this.chance(0.6)) parts.push(`from=${this.pick(times)}`);
		if (this.chance(0.6)) parts.push(`to=${this.pick(times)}`);
		if (this.chance(0.5))
			parts.push(`granularity=${this.pick(["hour", "day", "week", "%FF", "x".repeat(300)])}`);
		if (this.chance(0.3)) parts.push(`model=${this.pick(["mlp", "%00", "x".repeat(2000)])}`);
		if (this.chance(0.3)) parts.push(`tenant=${this.pick(["*", "not-a-uuid", "%00"])}`);
		return parts.length ? `?${parts.join("&")}` : "";
	}

	query(list: boolean): string {
		if (!list && !this.chance(0.1)) return "";
		const parts: string[] = [];
		if (this.chance(0.5)) parts.push(`limit=${this.pick(LIMITS)}`);
		if (this.chance(0.6)) parts.push(`cursor=${this.pick(CURSORS)}`);
		if (this.chance(0.3))
			parts.push(
				`${this.pick(["tag", "state", "q", "model", "version", "name"])}=${this.pick([
					"%00",
					"a",
					"%FF",
					"team%3Dfuzz",
					"x".repeat(2000),
				])}`,
			);
		if (this.chance(0.05)) parts.push("a=1&a=2&a[b]=3");
		return parts.length ? `?${parts.join("&")}` : "";
	}

	/**
	 * `body` spoiled: fields replaced by odd values or nested deep, keys dropped or added; then,
	 * now and then, the text itself is cut, mis-encoded or given a lone surrogate.
	 */
	render(body: unknown): Buffer {
		const spoiled = this.chance(0.8) ? this.mutate(structuredClone(body)) : body;
		let text = JSON.stringify(spoiled) ?? "null";
		text = text.replace(JSON.stringify(DEEP), () => deepJson(this.pick([70, 500, 10_000])));
		switch (this.int(12)) {
			case 0:
				return Buffer.from(text.slice(0, this.int(text.length)));
			case 1:
				return Buffer.from(text.replace(/"[^"]*"/, '"\\ud800"'));
			case 2:
				return Buffer.concat([
					Buffer.from(text.slice(0, 2)),
					Buffer.from([0xff, 0xfe, 0xc3, 0x28]),
					Buffer.from(text.slice(2)),
				]);
			case 3:
				return Buffer.from(text.replace(/"[^"]*"/, '"a\\u0000b"'));
			case 4:
				return Buffer.from(
					text.replace(/\d+(\.\d+)?/, this.pick(["1e309", "-1e309", "1e-400"])),
				);
			case 5:
				return Buffer.from(deepJson(this.pick([65, 10_000, 50_000])));
			default:
				return Buffer.from(text);
		}
	}

	private mutate(body: unknown): unknown {
		if (body === null || typeof body !== "object") return this.value();
		for (let n = 1 + this.int(3); n > 0; n--) {
			const holder = this.randomHolder(body as Record<string, unknown>);
			const keys = Object.keys(holder);
			const key =
				keys.length > 0 && this.chance(0.8)
					? this.pick(keys)
					: this.pick(["__proto__", "extra", "\u0000"]);
			switch (this.int(5)) {
				case 0:
					delete holder[key];
					break;
				case 1:
					holder[key] = null;
					break;
				case 2:
					holder[key] = DEEP;
					break;
				default:
					holder[key] = this.value();
			}
		}
		return body;
	}

	/** An object somewhere inside `root` (itself, or a nested object or array). */
	private randomHolder(root: Record<string, unknown>): Record<string, unknown> {
		let holder = root;
		for (let depth = 0; depth < 4 && this.chance(0.5); depth++) {
			const inner = Object.values(holder).filter(
				(v): v is Record<string, unknown> => v !== null && typeof v === "object",
			);
			if (inner.length === 0) break;
			holder = this.pick(inner);
		}
		return holder;
	}

	// --- route families ---

	private fillPath(template: string): string {
		const w = this.world;
		return template.replace(/:(\w+)/g, (_, name: string) => {
			switch (name) {
				case "model":
					return this.segment(w.model);
				case "scratch":
					return this.segment(`fz-${this.int(50)}`);
				case "version":
					return this.segment(this.pick([w.version, "1.0.1", "9.9.9", "latest"]));
				case "alias":
					return this.segment(this.pick(["champion", "staging"]));
				case "dataset":
					return this.segment(this.pick([w.dataset, "nope@1", "iris"]));
				case "job":
					return this.segment(
						this.pick([w.jobId, "00000000-0000-4000-8000-000000000000"]),
					);
				case "file":
					return this.segment(
						this.pick(["m.onnx", "model-tfjs.tar", "../../etc/passwd"]),
					);
				case "node":
					return this.segment(this.pick(["worker", "ghost", "gateway"]));
				case "keyId":
					return this.segment("00000000-0000-4000-8000-000000000000");
				case "tenantId":
					return this.segment(
						this.pick(["00000000-0000-4000-8000-000000000000", "not-a-uuid", "*"]),
					);
				case "hook":
					return this.segment(
						this.pick(["00000000-0000-4000-8000-000000000000", "nope", "%00", "1e400"]),
					);
				case "after":
					return this.segment(this.pick(["now", "0", "1", ...CURSORS]));
				case "limit":
					return this.segment(this.pick(LIMITS));
				case "eventType":
					return this.segment(
						this.pick([
							"*",
							"model.created",
							"training.*",
							"io.modelfleet.*",
							">",
							"a b",
							"",
							"mod*el",
							"a.*.b",
						]),
					);
				case "deliveryState":
					return this.segment(this.pick(["pending", "dead", "delivered", "x"]));
				default:
					return this.segment(name);
			}
		});
	}

	rest(): FuzzRequest {
		const route = this.pick(REST_ROUTES);
		const method = this.chance(0.05)
			? this.pick(["PUT", "PATCH", "DELETE", "OPTIONS"])
			: route.method;
		const path = `/api/v1${this.fillPath(route.path)}${
			route.query === "usage" ? this.usageQuery() : this.query(route.query === "list")
		}`;
		const headers: Record<string, string> = { ...this.auth() };
		if (route.family === "downloads" && this.chance(0.5))
			headers.range = this.pick([
				"bytes=0-99",
				"bytes=-5",
				"bytes=99999999999-",
				"bytes=5-1",
				"bytes=0-1,4-5",
				"items=0-1",
				"bytes=\u00ff",
			]);
		let body: Buffer | undefined;
		if (route.body && method !== "GET") {
			body = this.render(route.body(this.world, this));
			headers["content-type"] = this.pick([
				"application/json",
				"application/json",
				"application/json; charset=utf-8",
				"text/plain",
				"application/merge-patch+json",
			]);
		}
		return {
			family: `rest:${route.family}`,
			method,
			path,
			headers,
			body,
			stream: route.stream,
		};
	}

	/** An Open Inference Protocol request body for the MLP, sometimes by `instances`. */
	inferBody(): unknown {
		if (this.chance(0.15)) return { instances: [[1, 2, 3, 4]], parameters: { a: 1 } };
		return {
			id: "fz",
			inputs: [
				{ name: "x", shape: [1, 4], datatype: "FP32", data: [1, 2, 3, 4], parameters: {} },
			],
			outputs: [
				{
					name: this.pick(["logits", "probabilities"]),
					parameters: {
						binary_data: this.chance(0.8) ? false : true,
						...(this.chance(0.3)
							? {
									classification: this.pick<unknown>([
										1,
										2,
										5,
										0,
										-1,
										"2",
										1e9,
										null,
									]),
								}
							: {}),
					},
				},
			],
			parameters: { binary_data_output: false },
		};
	}

	infer(): FuzzRequest {
		const w = this.world;
		const path = this.pick([
			`/v2/models/${this.segment(w.model)}/infer`,
			`/v2/models/${this.segment(w.model)}/versions/${this.segment("1")}/infer`,
			`/v2/models/${this.segment(w.model)}/infer${this.pick(["?version=9.9.9", "?x=%00", ""])}`,
		]);
		if (this.chance(0.3)) {
			const header = Buffer.from(
				JSON.stringify({
					inputs: [
						{
							name: "x",
							shape: this.pick([
								[1, 4],
								[2, 4],
								[-1, 4],
								[1e9, 4],
							]),
							datatype: this.pick(["FP32", "FP16", "BYTES", "INT64"]),
							parameters: { binary_data_size: this.pick([16, 32, 0, -1, 1e12]) },
						},
					],
				}),
			);
			const tensor = Buffer.alloc(this.pick([0, 8, 16, 33]), 0x3f);
			return {
				family: "v2:infer-binary",
				method: "POST",
				path,
				headers: {
					...this.auth(),
					"content-type": "application/octet-stream",
					"inference-header-content-length": this.pick([
						String(header.length),
						String(header.length),
						String(header.length + 100),
						"-1",
						"abc",
						"99999999999999999999",
					]),
				},
				body: Buffer.concat([header, tensor]),
			};
		}
		if (this.chance(0.2)) {
			// Compressed bodies: gzip, deflate, mislabelled, truncated, or a small bomb.
			const json = this.render(this.inferBody());
			const encoding = this.pick(["gzip", "deflate", "br", "gzip, gzip", "identity"]);
			const packed = this.pick([
				() => (encoding === "deflate" ? zlib.deflateSync(json) : zlib.gzipSync(json)),
				() => zlib.gzipSync(json).subarray(0, 12),
				() => json,
				() => zlib.gzipSync(Buffer.alloc(4 * 1024 ** 2, 0x20)),
			])();
			return {
				family: "v2:infer-compressed",
				method: "POST",
				path,
				headers: {
					...this.auth(),
					"content-type": "application/json",
					"content-encoding": encoding,
					"accept-encoding": this.pick(["gzip", "deflate;q=0", "*", "br"]),
				},
				body: packed,
			};
		}
		return {
			family: "v2:infer-json",
			method: "POST",
			path,
			headers: { ...this.auth(), "content-type": "application/json" },
			body: this.render(this.inferBody()),
		};
	}

	oipOther(): FuzzRequest {
		const w = this.world;
		const model = this.segment(w.model);
		const choice = this.int(6);
		if (choice < 3) {
			return {
				family: "v2:metadata",
				method: this.chance(0.9) ? "GET" : this.pick(["POST", "DELETE", "HEAD"]),
				path: this.pick([
					`/v2/models/${model}`,
					`/v2/models/${model}/ready`,
					`/v2/models/${model}/versions/${this.segment("1")}`,
					`/v2/models/${model}/versions/${this.segment("1")}/ready`,
					`/v2/models/${model}?version=${this.pick(["9.9.9", "%00", "1"])}`,
					`/v2/models/${model}/config`,
					`/v2/models/${model}/versions/${this.segment("1")}/config`,
					`/v2/models/stats`,
					`/v2/models/${model}/stats`,
					`/v2/models/${model}/versions/${this.segment("1")}/stats`,
				]),
				headers: this.auth(),
			};
		}
		if (choice === 3) {
			return {
				family: "v2:repository",
				method: "POST",
				path: "/v2/repository/index",
				headers: { ...this.auth(), "content-type": "application/json" },
				body: this.render({ ready: this.chance(0.5) }),
			};
		}
		return {
			family: "v2:repository",
			method: "POST",
			path: `/v2/repository/models/${this.segment(`fz-${this.int(50)}`)}/${this.pick(["load", "unload"])}`,
			headers: { ...this.auth(), "content-type": "application/json" },
			body: this.render({
				parameters: {
					config: JSON.stringify({ max_batch_size: 4, instance_group: [{ count: 1 }] }),
					"file:1/model.onnx": Buffer.from("not a model").toString("base64"),
					unload_dependents: false,
				},
			}),
		};
	}

	upload(): FuzzRequest {
		const path = this.pick([
			`/api/v1/artifacts${this.pick(["", "?fileName=m.onnx", "?fileName=%00"])}`,
			`/api/v1/models/${this.segment(`fz-${this.int(50)}`)}/versions/upload?version=${this.pick(
				["1.0.0", "%00", "x"],
			)}&fileName=${this.pick(["m.onnx", "m.json", "m.tar.gz", "%00"])}`,
			`/api/v1/datasets?name=${this.pick(["fz", "%00", "x".repeat(200)])}&format=${this.pick(["csv", "ndjson", "%FF"])}&labelColumn=${this.pick(["label", "%00"])}`,
		]);
		const payload = this.pick<() => Buffer>([
			() => Buffer.from("sepal_length,species\n1,a\n2,b\n"),
			() => Buffer.from("not a model at all"),
			() => Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0]),
			() => Buffer.from("\u0000\u0000\u0000"),
			() => Buffer.from(`{"learner":${deepJson(1000)}}`),
			() => Buffer.alloc(0),
		])();
		const headers: Record<string, string> = { ...this.auth() };
		let body = payload;
		if (this.chance(0.4)) {
			const boundary = this.pick(["XX", "----fz", ""]);
			headers["content-type"] = `multipart/form-data; boundary=${boundary}`;
			const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${this.pick(
				["x.onnx", "\u0000", "../../x"],
			)}"\r\n\r\n`;
			body = Buffer.concat([
				Buffer.from(head),
				payload,
				Buffer.from(this.chance(0.5) ? "" : `\r\n--${boundary}--\r\n`),
			]);
		} else {
			headers["content-type"] = this.pick([
				"application/octet-stream",
				"text/csv",
				"application/json",
			]);
		}
		return { family: "upload", method: "POST", path, headers, body };
	}

	batchPredict(): FuzzRequest {
		const w = this.world;
		const ndjson = this.chance(0.5);
		const body = ndjson
			? this.pick<() => Buffer>([
					() => Buffer.from('{"x":[1,2,3,4]}\n{"x":[1,2,3]}\n'),
					() => Buffer.concat([this.render({ x: [1, 2, 3, 4] }), Buffer.from("\n")]),
					() => Buffer.from(`${deepJson(5000)}\n`),
					() => Buffer.from('{"x":"\\u0000"}\n'),
				])()
			: this.pick<() => Buffer>([
					() => Buffer.from("a,b,c,d\n1,2,3,4\n"),
					() => Buffer.from('a,b,c,d\n"1,2\n'),
					() => Buffer.from("a,b,c,d\n1,2,3,\u0000\n"),
					() => Buffer.from([0xff, 0xfe, 0x0a, 0x31]),
				])();
		return {
			family: "batch-predict",
			method: "POST",
			path: `/api/v1/models/${this.segment(w.model)}/${this.chance(0.3) ? `versions/${this.segment(w.version)}/` : ""}batch-predict`,
			headers: {
				...this.auth(),
				"content-type": ndjson
					? "application/x-ndjson"
					: this.pick(["text/csv", "text/plain"]),
			},
			body,
		};
	}

	publicRoute(): FuzzRequest {
		return {
			family: "public",
			method: this.chance(0.9) ? "GET" : this.pick(["POST", "DELETE"]),
			path: this.pick([
				"/health/live",
				"/health/ready",
				"/api/openapi.json",
				"/docs",
				"/docs/swagger-ui.css",
				"/docs/..%2Fpackage.json",
				"/docs/%2e%2e",
				"/v2",
				"/v2/health/live",
				"/v2/health/ready",
				"/",
				"/%00",
				"/v2/models/",
				"/v2/models//infer",
				"/api/v1",
				"/api/v1/",
			]),
			headers: this.chance(0.5) ? this.auth() : {},
		};
	}

	/** Requests whose framing lies: sent on a raw socket. */
	lyingRequest(): FuzzRequest {
		const w = this.world;
		if (this.chance(0.3)) {
			// Raw bytes in the path that are not UTF-8 (a client library would escape them).
			return {
				family: "raw-path",
				method: "GET",
				path: this.pick([
					`/api/v1/models/a\u00ffb`,
					`/v2/models/${w.model}\u00c3(/ready`,
					"/api/v1/models?cursor=\u00ff",
				]),
				headers: { authorization: `Bearer ${w.keys.owner}` },
				socket: "raw",
			};
		}
		const inner = this.chance(0.5) ? this.infer() : this.upload();
		return { ...inner, family: `lying:${inner.family}`, socket: "lie" };
	}
}

/** JSON text nested `depth` deep in objects and arrays. */
export function deepJson(depth: number): string {
	const half = Math.floor(depth / 2);
	return `${'{"a":['.repeat(half)}1${"]}".repeat(half)}`;
}
