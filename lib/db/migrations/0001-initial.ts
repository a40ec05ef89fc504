/** 0001 — tenants, API keys, models, versions, aliases and the audit log. */
export const up = `
CREATE TABLE tenants (
	id uuid PRIMARY KEY,
	name text NOT NULL UNIQUE,
	is_admin boolean NOT NULL DEFAULT false,
	created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
	id uuid PRIMARY KEY,
	tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
	name text NOT NULL,
	prefix text NOT NULL,
	hash text NOT NULL UNIQUE,
	role text NOT NULL CHECK (role IN ('owner', 'developer', 'predictor', 'viewer')),
	created_at timestamptz NOT NULL DEFAULT now(),
	expires_at timestamptz,
	revoked_at timestamptz
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id);

CREATE TABLE models (
	id uuid PRIMARY KEY,
	tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
	name text NOT NULL,
	description text NOT NULL DEFAULT '',
	task text NOT NULL,
	framework text NOT NULL,
	tags jsonb NOT NULL DEFAULT '{}'::jsonb,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT models_tenant_name UNIQUE (tenant_id, name)
);
CREATE INDEX models_tags ON models USING gin (tags);

CREATE TABLE model_versions (
	id uuid PRIMARY KEY,
	seq bigserial NOT NULL,
	tenant_id uuid NOT NULL,
	model_id uuid NOT NULL REFERENCES models(id) ON DELETE CASCADE,
	version text NOT NULL,
	state text NOT NULL CHECK (state IN ('Draft', 'Training', 'Trained', 'Validated', 'Deployed', 'Retired', 'Failed')),
	format text NOT NULL CHECK (format IN ('onnx', 'tfjs', 'xgboost-json')),
	artifact_sha256 text,
	artifact_size bigint,
	description text NOT NULL DEFAULT '',
	schema jsonb NOT NULL,
	pipeline jsonb NOT NULL,
	labels jsonb,
	metrics jsonb NOT NULL,
	lineage jsonb NOT NULL,
	resources jsonb NOT NULL,
	details jsonb NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT model_versions_model_version UNIQUE (model_id, version)
);
CREATE INDEX model_versions_artifact ON model_versions (artifact_sha256);

CREATE TABLE model_aliases (
	tenant_id uuid NOT NULL,
	model_id uuid NOT NULL REFERENCES models(id) ON DELETE CASCADE,
	alias text NOT NULL,
	version_id uuid NOT NULL REFERENCES model_versions(id) ON DELETE CASCADE,
	updated_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (model_id, alias)
);

CREATE TABLE audit_log (
	id bigserial PRIMARY KEY,
	tenant_id uuid,
	key_id uuid,
	action text NOT NULL,
	target text NOT NULL,
	outcome text NOT NULL,
	detail jsonb,
	at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_tenant_at ON audit_log (tenant_id, id);
`;
