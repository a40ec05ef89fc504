/** 0003 — deployments (desired serving) and their replicas (where they are placed). */
export const up = `
CREATE TABLE deployments (
	id uuid PRIMARY KEY,
	tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
	model_id uuid NOT NULL REFERENCES models(id) ON DELETE CASCADE,
	model_name text NOT NULL,
	replicas integer NOT NULL,
	min_replicas integer NOT NULL,
	max_replicas integer NOT NULL,
	resources jsonb NOT NULL,
	batching jsonb NOT NULL DEFAULT '{}'::jsonb,
	autoscaling jsonb,
	traffic jsonb NOT NULL,
	shadow jsonb,
	previous_traffic jsonb,
	status text NOT NULL,
	status_reason text,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT deployments_tenant_model UNIQUE (tenant_id, model_id)
);

CREATE TABLE deployment_replicas (
	deployment_id uuid NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
	node_id text NOT NULL,
	gpu_index integer,
	state text NOT NULL CHECK (state IN ('loading', 'ready')),
	updated_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (deployment_id, node_id)
);
`;
