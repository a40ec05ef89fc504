/**
 * 0014 — captured predictions as bytes. A batch's captures are stored as the serving node wrote
 * them (`payload_binary`, lib/monitoring/capture-batch.ts: the tensors' bytes as they are)
 * rather than as NDJSON text with base64 tensors: writing, sending and storing the text cost
 * more than the prediction. Rows stored before keep their NDJSON `payload` and are still read;
 * a row holds exactly one of the two.
 */
export const up = `
ALTER TABLE prediction_captures ALTER COLUMN payload DROP NOT NULL;
ALTER TABLE prediction_captures ADD COLUMN payload_binary bytea;
-- Stored as is, out of line, like payload: float bytes and ids hardly compress, and trying
-- (pglz, every batch) costs more than the space saved.
ALTER TABLE prediction_captures ALTER COLUMN payload_binary SET STORAGE EXTERNAL;
ALTER TABLE prediction_captures ALTER COLUMN prediction_ids SET STORAGE EXTERNAL;
ALTER TABLE prediction_captures ADD CONSTRAINT prediction_captures_one_payload
	CHECK ((payload IS NULL) <> (payload_binary IS NULL));
`;
