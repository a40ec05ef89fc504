/** 0002 — per-version serving settings (dynamic batching), changeable without a new version. */
export const up = `
ALTER TABLE model_versions ADD COLUMN serving jsonb NOT NULL DEFAULT '{}'::jsonb;
`;
