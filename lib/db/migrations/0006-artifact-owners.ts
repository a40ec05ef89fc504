/**
 * 0006 — which tenant holds which blob. Content addressing dedupes bytes across tenants, so a
 * hash alone must not open a blob: a tenant may name only blobs it stored itself (or that were
 * made for it). Existing installations keep working: every blob a version (its served file or a
 * kept alternate), a dataset or a training checkpoint already names is recorded for that tenant.
 */
export const up = `
CREATE TABLE artifact_owners (
	tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
	sha256 text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, sha256)
);
CREATE INDEX artifact_owners_sha256 ON artifact_owners (sha256);

INSERT INTO artifact_owners (tenant_id, sha256)
SELECT held.tenant_id, held.sha256
FROM (
	SELECT tenant_id, artifact_sha256 AS sha256 FROM model_versions
	WHERE artifact_sha256 IS NOT NULL
	UNION
	SELECT v.tenant_id, alternate->'artifact'->>'sha256' FROM model_versions v,
		jsonb_array_elements(
			CASE WHEN jsonb_typeof(v.details->'alternates') = 'array'
				THEN v.details->'alternates' ELSE '[]'::jsonb END
		) AS alternate
	WHERE jsonb_typeof(alternate->'artifact') = 'object'
		AND alternate->'artifact'->>'sha256' IS NOT NULL
	UNION
	SELECT tenant_id, sha256 FROM datasets
	UNION
	SELECT tenant_id, checkpoint->>'sha256' FROM training_jobs
	WHERE jsonb_typeof(checkpoint) = 'object' AND checkpoint->>'sha256' IS NOT NULL
) AS held
JOIN tenants ON tenants.id = held.tenant_id
WHERE held.sha256 ~ '^[0-9a-f]{64}$'
ON CONFLICT DO NOTHING;
`;
