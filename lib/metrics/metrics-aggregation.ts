/**
 * One Prometheus exposition for a node that serves on several threads (nodes/serving-threads.ts):
 * each thread keeps its own registry, and a scrape of the node must count every request once,
 * whichever thread served it. prom-client's AggregatorRegistry merges the registries' JSON as it
 * does for Node's cluster workers: counters and histograms are summed series by series, each
 * metric by its own `aggregator`.
 */
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from "prom-client";

export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

/** The text exposition of `registries` (each a `getMetricsAsJSON()`) merged into one. */
export async function aggregateMetrics(
	registries: readonly MetricsJson[],
): Promise<{ contentType: string; body: string }> {
	const merged = AggregatorRegistry.aggregate(
		// A metric that names no way to merge it is summed, as prom-client's own are by default.
		registries.map(metrics =>
			metrics.map(metric => ({ ...metric, aggregator: metric.aggregator ?? "sum" })),
		),
	);
	return { contentType: merged.contentType, body: await merged.metrics() };
}
