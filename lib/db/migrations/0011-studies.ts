/**
 * 0011 — hyperparameter studies (lib/studies). `studies` keeps a study's request (base spec,
 * search space, objective, budget, searcher), its state and outcome; its trials are training
 * jobs that name the study, the trial and the rung (one job per rung under ASHA), so a control
 * node that restarts re-derives every study from these rows. `tags` label a job as a run.
 */
export const up = `
CREATE TABLE studies (
	id uuid PRIMARY KEY,
	seq bigserial NOT NULL,
	tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
	name text NOT NULL,
	model_name text NOT NULL,
	dataset_id uuid NOT NULL REFERENCES datasets(id),
	spec jsonb NOT NULL,
	state text NOT NULL,
	best jsonb,
	error text,
	created_at timestamptz NOT NULL DEFAULT now(),
	finished_at timestamptz,
	updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX studies_tenant_seq ON studies (tenant_id, seq);
CREATE INDEX studies_state ON studies (state);

ALTER TABLE training_jobs ADD COLUMN study_id uuid REFERENCES studies(id) ON DELETE CASCADE;
ALTER TABLE training_jobs ADD COLUMN trial integer;
ALTER TABLE training_jobs ADD COLUMN rung integer;
ALTER TABLE training_jobs ADD COLUMN tags jsonb NOT NULL DEFAULT '[]'::jsonb;
CREATE UNIQUE INDEX training_jobs_study_trial_rung ON training_jobs (study_id, trial, rung);
`;
