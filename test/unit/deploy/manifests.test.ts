/**
 * The deployment files, checked without kubectl or docker: the Kubernetes manifests (kustomize
 * base and gpu-worker overlay) parse, have the fields their kind requires, and probe and expose
 * the ports the settings give; the compose file has what every role needs, and Prometheus
 * scrapes every node's health port; the Grafana dashboard reads the provisioned data source.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { loadNodeConfig } from "../../../lib/config/node-config";
import { ROLE_SERVICES, type NodeRole } from "../../../lib/fleet/node-role";
import { NodeMetrics } from "../../../lib/metrics/node-metrics";

const ROOT = path.resolve(__dirname, "../../..");
const K8S = path.join(ROOT, "deploy/kubernetes");
const DOCKER = path.join(ROOT, "docker");
const ROLES = Object.keys(ROLE_SERVICES);

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- parsed YAML, checked field by field

function loadAll(file: string): Doc[] {
	return yaml.loadAll(fs.readFileSync(file, "utf8")).filter(Boolean) as Doc[];
}

/** The paths the health port answers (lib/health/health-server.ts). */
const HEALTH_PATHS = ["/health/live", "/health/ready", "/metrics"];

/** Settings documented in docs/configuration.md (first cell of each table row). */
function documentedSettings(): Set<string> {
	const text = fs.readFileSync(path.join(ROOT, "docs/configuration.md"), "utf8");
	return new Set([...text.matchAll(/^\| `([A-Z0-9_]+)`/gm)].map(m => m[1]));
}
/** Variables of the platform, not modelfleet's settings. */
const PLATFORM_ENV = new Set([
	"NVIDIA_VISIBLE_DEVICES",
	"NVIDIA_DRIVER_CAPABILITIES",
	"ONNXRUNTIME_NODE_INSTALL",
	"NODE_ENV",
]);

/** What kustomize would build: the resources of a kustomization, overlays through their bases. */
function kustomize(dir: string): { docs: Doc[]; files: string[] } {
	const [kustomization] = loadAll(path.join(dir, "kustomization.yaml"));
	expect(kustomization).toMatchObject({
		apiVersion: "kustomize.config.k8s.io/v1beta1",
		kind: "Kustomization",
	});
	const docs: Doc[] = [];
	const files: string[] = [];
	for (const resource of kustomization.resources as string[]) {
		const target = path.join(dir, resource);
		expect({ resource, exists: fs.existsSync(target) }).toEqual({ resource, exists: true });
		if (fs.statSync(target).isDirectory()) {
			const inner = kustomize(target);
			docs.push(...inner.docs);
			files.push(...inner.files);
		} else {
			docs.push(...loadAll(target));
			files.push(target);
		}
	}
	return { docs, files };
}

const REQUIRED: Record<string, (doc: Doc) => void> = {
	Namespace: () => undefined,
	ConfigMap: doc => expect(typeof doc.data).toBe("object"),
	Secret: doc => expect(typeof (doc.stringData ?? doc.data)).toBe("object"),
	Service: doc => {
		expect(doc.spec.selector).toBeDefined();
		expect(doc.spec.ports.length).toBeGreaterThan(0);
	},
	Deployment: doc => {
		const labels = doc.spec.template.metadata.labels;
		expect(labels).toMatchObject(doc.spec.selector.matchLabels);
		for (const container of doc.spec.template.spec.containers) {
			expect(typeof container.name).toBe("string");
			expect(typeof container.image).toBe("string");
		}
	},
};
const API_VERSIONS: Record<string, string> = {
	Namespace: "v1",
	ConfigMap: "v1",
	Secret: "v1",
	Service: "v1",
	Deployment: "apps/v1",
};

describe("the Kubernetes manifests", () => {
	const base = kustomize(path.join(K8S, "base"));
	const gpu = kustomize(path.join(K8S, "overlays/gpu-worker"));
	const config = base.docs.find(d => d.kind === "ConfigMap")!.data as Record<string, string>;
	const secret = base.docs.find(d => d.kind === "Secret")!.stringData as Record<string, string>;
	const healthPort = Number(config.MODELFLEET_HEALTH_PORT);
	const deployments = (docs: Doc[]) => docs.filter(d => d.kind === "Deployment");

	it("list only files that exist, and every manifest file is listed", () => {
		const listed = new Set([...base.files, ...gpu.files]);
		const onDisk = fs
			.readdirSync(K8S, { recursive: true, encoding: "utf8" })
			.filter(f => f.endsWith(".yaml") && !f.endsWith("kustomization.yaml"))
			.map(f => path.join(K8S, f));
		expect(onDisk.filter(f => !listed.has(f))).toEqual([]);
	});

	it("have apiVersion, kind, metadata.name and the fields their kind requires", () => {
		for (const doc of [...base.docs, ...gpu.docs]) {
			expect(Object.keys(API_VERSIONS)).toContain(doc.kind);
			expect(doc.apiVersion).toBe(API_VERSIONS[doc.kind]);
			expect(doc.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
			REQUIRED[doc.kind](doc);
		}
	});

	it("run gateway, control and worker, each with its role, probes and resources", () => {
		const byRole = new Map(
			deployments(base.docs).map(d => [d.spec.template.spec.containers[0].args[0], d]),
		);
		expect([...byRole.keys()].sort()).toEqual(["control", "gateway", "worker"]);
		for (const d of [...deployments(base.docs), ...deployments(gpu.docs)]) {
			const [container] = d.spec.template.spec.containers;
			expect(ROLES).toContain(container.args[0]);
			expect(container.resources.requests).toBeDefined();
			expect(container.resources.limits).toBeDefined();
			for (const probe of ["livenessProbe", "readinessProbe"]) {
				const get = container[probe].httpGet;
				expect(HEALTH_PATHS).toContain(get.path);
				const port = container.ports.find(
					(p: Doc) => p.name === get.port || p.containerPort === get.port,
				);
				expect({ deployment: d.metadata.name, probe, port: port?.containerPort }).toEqual({
					deployment: d.metadata.name,
					probe,
					port: healthPort,
				});
			}
			expect(container.readinessProbe.httpGet.path).toBe("/health/ready");
			expect(Number(d.spec.template.metadata.annotations["prometheus.io/port"])).toBe(
				healthPort,
			);
		}
	});

	it("give each role the settings it needs, from the ConfigMap and Secret", () => {
		const documented = documentedSettings();
		for (const d of [...deployments(base.docs), ...deployments(gpu.docs)]) {
			const [container] = d.spec.template.spec.containers;
			const env = new Map<string, Doc>(container.env.map((e: Doc) => [e.name, e]));
			const names = new Set([...env.keys(), ...Object.keys(config)]);
			const needs = ["TRANSPORTER", "MODELFLEET_FLEET_SECRET", "MODELFLEET_HEALTH_PORT"];
			if (container.args[0] === "control") needs.push("DATABASE_URL");
			if (container.args[0] === "gateway") needs.push("PORT");
			for (const name of needs)
				expect({ d: d.metadata.name, name, set: names.has(name) }).toEqual({
					d: d.metadata.name,
					name,
					set: true,
				});
			for (const e of env.values()) {
				const key = e.valueFrom?.secretKeyRef?.key;
				if (key !== undefined) expect(Object.keys(secret)).toContain(key);
			}
			for (const name of names)
				if (!PLATFORM_ENV.has(name))
					expect({ name, documented: documented.has(name) }).toEqual({
						name,
						documented: true,
					});
			const gatewayPort = env.get("PORT")?.value;
			if (gatewayPort !== undefined)
				expect(container.ports.map((p: Doc) => p.containerPort)).toContain(
					Number(gatewayPort),
				);
		}
	});

	it("give each role a configuration it accepts, with its ports where the probes look", () => {
		for (const d of [...deployments(base.docs), ...deployments(gpu.docs)]) {
			const [container] = d.spec.template.spec.containers;
			const env: Record<string, string> = { ...config };
			for (const e of container.env as Doc[]) {
				if (e.value !== undefined) env[e.name] = String(e.value);
				else if (e.valueFrom?.secretKeyRef)
					env[e.name] = secret[e.valueFrom.secretKeyRef.key];
				else if (e.valueFrom?.fieldRef) env[e.name] = `${d.metadata.name}-0`;
			}
			const role = container.args[0] as NodeRole;
			const node = loadNodeConfig(role, env);
			expect(node.healthPort).toBe(healthPort);
			expect(node.fleetSecret).toBe(secret.MODELFLEET_FLEET_SECRET);
			if (role === "gateway") {
				const ports = container.ports.map((p: Doc) => p.containerPort);
				expect(ports).toContain(node.port);
				expect(ports).toContain(node.grpcPort);
			}
		}
	});

	it("expose through each Service only ports its pods have", () => {
		for (const docs of [base.docs, gpu.docs]) {
			for (const service of docs.filter(d => d.kind === "Service")) {
				const pods = deployments(docs).filter(d =>
					Object.entries(service.spec.selector).every(
						([k, v]) => d.spec.template.metadata.labels[k] === v,
					),
				);
				expect(pods.length).toBe(1);
				const ports = pods[0].spec.template.spec.containers[0].ports as Doc[];
				for (const port of service.spec.ports)
					expect(ports.some(p => p.name === port.targetPort)).toBe(true);
			}
		}
	});

	it("give GPU workers an NVIDIA GPU through the device plugin, CPU workers none", () => {
		const [gpuWorker] = deployments(gpu.docs).filter(
			d => !base.docs.includes(d) && d.metadata.name === "worker-gpu",
		);
		const resources = gpuWorker.spec.template.spec.containers[0].resources;
		expect(resources.limits["nvidia.com/gpu"]).toBe(1);
		expect(resources.requests["nvidia.com/gpu"]).toBe(1);
		for (const d of deployments(base.docs))
			expect(
				d.spec.template.spec.containers[0].resources.limits["nvidia.com/gpu"],
			).toBeUndefined();
	});
});

describe("the compose file", () => {
	const [compose] = loadAll(path.join(DOCKER, "docker-compose.yml"));
	const services = compose.services as Record<string, Doc>;
	const nodes = Object.entries(services).filter(([, s]) => ROLES.includes(s.command?.[0]));
	const documented = documentedSettings();

	it("has an image or a build for every service, and valid port mappings", () => {
		for (const [name, service] of Object.entries(services)) {
			expect({
				name,
				runs: typeof service.image === "string" || service.build !== undefined,
			}).toEqual({ name, runs: true });
			for (const port of service.ports ?? []) expect(String(port)).toMatch(/^\d+:\d+$/);
			for (const volume of service.volumes ?? []) {
				const source = String(volume).split(":")[0];
				if (source.startsWith("./"))
					expect({ volume, exists: fs.existsSync(path.join(DOCKER, source)) }).toEqual({
						volume,
						exists: true,
					});
			}
		}
	});

	it("gives every node the settings its role needs, all documented", () => {
		expect(nodes.map(([, s]) => s.command[0]).sort()).toEqual(
			expect.arrayContaining(["control", "gateway", "worker"]),
		);
		for (const [name, service] of nodes) {
			const env = service.environment as Record<string, string>;
			const needs = [
				"TRANSPORTER",
				"MODELFLEET_FLEET_SECRET",
				"MODELFLEET_HEALTH_PORT",
				"MODELFLEET_NODE_ID",
			];
			if (service.command[0] === "control") needs.push("DATABASE_URL");
			for (const need of needs)
				expect({ name, need, set: env[need] !== undefined }).toEqual({
					name,
					need,
					set: true,
				});
			for (const setting of Object.keys(env))
				if (!PLATFORM_ENV.has(setting))
					expect({ setting, documented: documented.has(setting) }).toEqual({
						setting,
						documented: true,
					});
		}
	});

	it("has Prometheus scrape every node's health port", () => {
		const [prometheus] = loadAll(path.join(DOCKER, "prometheus.yml"));
		const targets = (prometheus.scrape_configs as Doc[]).flatMap(job =>
			(job.static_configs as Doc[]).flatMap(c => c.targets as string[]),
		);
		for (const [name, service] of nodes)
			expect(targets).toContain(`${name}:${service.environment.MODELFLEET_HEALTH_PORT}`);
		for (const target of targets) expect(Object.keys(services)).toContain(target.split(":")[0]);
		expect(services.prometheus.volumes).toContain(
			"./prometheus.yml:/etc/prometheus/prometheus.yml:ro",
		);
	});

	it("has the dashboard query only metrics the nodes have", async () => {
		const metrics = new NodeMetrics();
		metrics.collectProcessMetrics();
		const names = new Set(
			((await metrics.registry.getMetricsAsJSON()) as unknown as { name: string }[]).map(
				m => m.name,
			),
		);
		const dashboard = JSON.parse(
			fs.readFileSync(path.join(DOCKER, "grafana/dashboards/modelfleet.json"), "utf8"),
		);
		const used = (dashboard.panels as Doc[]).flatMap(panel =>
			(panel.targets as Doc[]).flatMap(t => [
				...String(t.expr).matchAll(/\b((?:modelfleet|process)_[a-z_]+)/g),
			]),
		);
		for (const [, name] of used)
			expect({ name, known: names.has(name.replace(/_(bucket|sum|count)$/, "")) }).toEqual({
				name,
				known: true,
			});
	});

	it("provisions Grafana with the dashboard, on the provisioned data source", () => {
		const [datasources] = loadAll(
			path.join(DOCKER, "grafana/provisioning/datasources/prometheus.yml"),
		);
		const uid = datasources.datasources[0].uid;
		expect(datasources.datasources[0].url).toBe("http://prometheus:9090");
		const dashboard = JSON.parse(
			fs.readFileSync(path.join(DOCKER, "grafana/dashboards/modelfleet.json"), "utf8"),
		);
		expect(dashboard.panels.length).toBeGreaterThan(0);
		for (const panel of dashboard.panels) {
			expect(panel.datasource.uid).toBe(uid);
			for (const target of panel.targets) expect(target.expr).toMatch(/modelfleet_|process_/);
		}
	});
});
