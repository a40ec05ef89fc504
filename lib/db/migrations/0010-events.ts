/**
 * 0009 — durable domain events and webhooks. `domain_events` is the event log of an all-in-one
 * node (a fleet keeps its events on NATS JetStream instead); `webhook_endpoints` are the
 * tenants' registered receivers; `webhook_deliveries` is the outbox: one row per event and
 * endpoint, written before the event's delivery is tried, so deliveries outlive a restart.
 */
export const up = `
CREATE TABLE domain_events (
	seq bigserial PRIMARY KEY,
	id text NOT NULL UNIQUE,
	tenant_id uuid NOT NULL,
	type text NOT NULL,
	time timestamptz NOT NULL,
	envelope jsonb NOT NULL
);
CREATE INDEX domain_events_tenant_seq ON domain_events (tenant_id, seq);
CREATE INDEX domain_events_time ON domain_events (time);

CREATE TABLE webhook_endpoints (
	id uuid PRIMARY KEY,
	tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
	url text NOT NULL,
	description text NOT NULL DEFAULT '',
	event_types jsonb NOT NULL,
	secret text NOT NULL,
	enabled boolean NOT NULL DEFAULT true,
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id);

CREATE TABLE webhook_deliveries (
	id uuid PRIMARY KEY,
	endpoint_id uuid NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
	tenant_id uuid NOT NULL,
	event_id text NOT NULL,
	event_type text NOT NULL,
	envelope jsonb NOT NULL,
	state text NOT NULL,
	attempts integer NOT NULL DEFAULT 0,
	next_attempt_at timestamptz NOT NULL,
	retry_until timestamptz NOT NULL,
	locked_until timestamptz,
	last_status integer,
	last_error text,
	last_latency_ms integer,
	log jsonb NOT NULL DEFAULT '[]'::jsonb,
	created_at timestamptz NOT NULL DEFAULT now(),
	UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at);
`;
