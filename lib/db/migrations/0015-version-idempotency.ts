/**
 * 0015 — idempotent version creation (lib/model-spec/version-idempotency.ts). A version may keep
 * the idempotency key it was created with (a training job's `job:<jobId>`, a client's
 * Idempotency-Key) and the fingerprint of that request; one key makes at most one version of a
 * tenant's model, which the unique index holds even when two creates with the key race.
 */
export const up = `
ALTER TABLE model_versions ADD COLUMN idempotency_key text;
ALTER TABLE model_versions ADD COLUMN idempotency_fingerprint text;
ALTER TABLE model_versions ADD CONSTRAINT model_versions_idempotency_pair
	CHECK ((idempotency_key IS NULL) = (idempotency_fingerprint IS NULL));
CREATE UNIQUE INDEX model_versions_idempotency_key
	ON model_versions (tenant_id, model_id, idempotency_key)
	WHERE idempotency_key IS NOT NULL;
`;
