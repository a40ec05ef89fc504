/**
 * 0009 — monitoring. Each deployment's monitoring settings; the captured predictions, in
 * batches as serving nodes flush them, in a table partitioned by day (retention drops whole
 * days: no vacuum of deleted rows); the ground truth sent back for predictions; and the
 * windows computed over both (drift, live accuracy, health).
 * Day partitions are made by the capture store as days come (CREATE TABLE … PARTITION OF).
 */
export const up = `
ALTER TABLE deployments ADD COLUMN monitoring jsonb;

CREATE TABLE prediction_captures (
	seq bigserial NOT NULL,
	tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
	model text NOT NULL,
	-- A batch as a serving node flushed it: its first and last capture times, how many
	-- predictions, rows and failures it holds, their ids, and the captures as NDJSON. One row
	-- per batch, not per prediction: a row and its index entries per prediction cost more
	-- than the prediction itself.
	captured_at timestamptz NOT NULL,
	last_at timestamptz NOT NULL,
	capture_count integer NOT NULL,
	row_count integer NOT NULL,
	error_count integer NOT NULL,
	prediction_ids text[] NOT NULL,
	payload text NOT NULL
) PARTITION BY RANGE (captured_at);
-- Stored as is, out of line: compressing a batch's payload (pglz) costs more than storing it.
-- Day partitions inherit the setting.
ALTER TABLE prediction_captures ALTER COLUMN payload SET STORAGE EXTERNAL;
CREATE INDEX prediction_captures_model_seq ON prediction_captures (tenant_id, model, seq);
CREATE INDEX prediction_captures_ids ON prediction_captures USING gin (prediction_ids);

CREATE TABLE prediction_feedback (
	seq bigserial PRIMARY KEY,
	tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
	model text NOT NULL,
	prediction_id text NOT NULL,
	row_index integer NOT NULL,
	version text NOT NULL,
	truth jsonb NOT NULL,
	predicted jsonb NOT NULL,
	received_at timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT prediction_feedback_once UNIQUE (tenant_id, model, prediction_id, row_index)
);
CREATE INDEX prediction_feedback_model_seq ON prediction_feedback (tenant_id, model, seq);

CREATE TABLE monitoring_windows (
	id bigserial PRIMARY KEY,
	tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
	model text NOT NULL,
	kind text NOT NULL CHECK (kind IN ('drift', 'performance', 'health')),
	last_seq bigint NOT NULL,
	started_at timestamptz NOT NULL,
	ended_at timestamptz NOT NULL,
	row_count integer NOT NULL,
	status text NOT NULL,
	report jsonb NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX monitoring_windows_model_kind ON monitoring_windows (tenant_id, model, kind, id);
`;
