/** 0004 — datasets (immutable, versioned per name) and the persisted training-job queue. */
export const up = `
CREATE TABLE datasets (
	id uuid PRIMARY KEY,
	tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
	name text NOT NULL,
	version integer NOT NULL,
	sha256 text NOT NULL,
	size bigint NOT NULL,
	format text NOT NULL,
	label_column text,
	rows integer NOT NULL,
	report jsonb NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT datasets_tenant_name_version UNIQUE (tenant_id, name, version)
);

CREATE TABLE training_jobs (
	id uuid PRIMARY KEY,
	seq bigserial NOT NULL,
	tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
	model_name text NOT NULL,
	dataset_id uuid NOT NULL REFERENCES datasets(id),
	spec jsonb NOT NULL,
	priority integer NOT NULL,
	gpu boolean NOT NULL,
	state text NOT NULL CHECK (state IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
	node_id text,
	attempts integer NOT NULL DEFAULT 0,
	failures jsonb NOT NULL DEFAULT '[]'::jsonb,
	epoch integer NOT NULL DEFAULT 0,
	checkpoint jsonb,
	progress jsonb NOT NULL DEFAULT '[]'::jsonb,
	backend text,
	result jsonb,
	error text,
	waiting_reason text,
	deadline_at timestamptz,
	created_at timestamptz NOT NULL DEFAULT now(),
	started_at timestamptz,
	finished_at timestamptz,
	updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX training_jobs_queue ON training_jobs (state, priority DESC, seq);
`;
