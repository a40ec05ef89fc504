/**
 * 0013 — data-parallel training. A job's `workers` is how many trainers its next attempt runs
 * on (the spec's, less one for each gang node lost since); `gang` the nodes of the running
 * attempt in rank order (rank 0 is also `node_id`), empty for a one-worker job.
 */
export const up = `
ALTER TABLE training_jobs ADD COLUMN workers integer NOT NULL DEFAULT 1;
ALTER TABLE training_jobs ADD COLUMN gang jsonb NOT NULL DEFAULT '[]'::jsonb;
`;
