/**
 * 0007 — metering and quotas (docs/usage-and-quotas.md): hourly usage counters per tenant, model
 * and version; the flushes already applied (so a retried flush counts once); stored bytes per
 * tenant and day; each tenant's quotas. Usage rows keep no reference to tenants: they are the
 * billing record and outlive what they counted.
 */
export const up = `
CREATE TABLE usage_hourly (
	tenant_id uuid NOT NULL,
	model text NOT NULL,
	version text NOT NULL,
	hour timestamptz NOT NULL,
	requests bigint NOT NULL DEFAULT 0,
	rows bigint NOT NULL DEFAULT 0,
	errors bigint NOT NULL DEFAULT 0,
	cpu_ms bigint NOT NULL DEFAULT 0,
	gpu_ms bigint NOT NULL DEFAULT 0,
	bytes_in bigint NOT NULL DEFAULT 0,
	bytes_out bigint NOT NULL DEFAULT 0,
	training_cpu_s bigint NOT NULL DEFAULT 0,
	training_gpu_s bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (tenant_id, model, version, hour)
);
CREATE INDEX usage_hourly_tenant_hour ON usage_hourly (tenant_id, hour);

CREATE TABLE usage_flushes (
	node text NOT NULL,
	incarnation text NOT NULL,
	seq integer NOT NULL,
	applied_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (node, incarnation, seq)
);

CREATE TABLE usage_storage_daily (
	tenant_id uuid NOT NULL,
	day timestamptz NOT NULL,
	artifacts_bytes bigint NOT NULL DEFAULT 0,
	datasets_bytes bigint NOT NULL DEFAULT 0,
	captures_bytes bigint NOT NULL DEFAULT 0,
	measured_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, day)
);

CREATE TABLE tenant_quotas (
	tenant_id uuid PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
	quotas jsonb NOT NULL,
	updated_at timestamptz NOT NULL DEFAULT now()
);
`;
