/**
 * 0016 — cheaper captures (docs/monitoring.md, bench/RESULTS.md §17).
 *
 * A batch's prediction ids are found by 53-bit keys of them, computed where captures are
 * stored and looked up (lib/monitoring/prediction-key.ts), under a GIN index instead of by the
 * ids' text: a bigint key costs the index less than a UUID's text (its size, its WAL), no id
 * goes to the database as text, and a key two ids share only
 * makes the reader decode one batch more (it keeps the captures whose id matches). Rows stored
 * before keep their ids in `prediction_ids` under its index and are still found by it; new
 * rows store none there. The index's pending list is kept small (64 kB rather than 4 MB):
 * merging a full 4 MB list into the index stalled the inserting process for about 250 ms —
 * on an all-in-one node, the process that serves.
 *
 * A row's payload may lie outside the table: on an all-in-one node (PGlite) a batch's bytes
 * are appended to a file of its day beside the database (lib/monitoring/capture-files.ts),
 * and the row keeps where (`payload_offset`, `payload_length`). A row holds exactly one of
 * the three payloads.
 */
export const up = `
ALTER TABLE prediction_captures ADD COLUMN prediction_keys bigint[];
-- Out of line as it is (like the ids before): pglz cannot shrink hashes.
ALTER TABLE prediction_captures ALTER COLUMN prediction_keys SET STORAGE EXTERNAL;
CREATE INDEX prediction_captures_keys ON prediction_captures
	USING gin (prediction_keys) WITH (gin_pending_list_limit = 64);
ALTER TABLE prediction_captures ADD COLUMN payload_offset bigint;
ALTER TABLE prediction_captures ADD COLUMN payload_length integer;
ALTER TABLE prediction_captures DROP CONSTRAINT prediction_captures_one_payload;
ALTER TABLE prediction_captures ADD CONSTRAINT prediction_captures_one_payload
	CHECK (num_nonnulls(payload, payload_binary, payload_offset) = 1
		AND (payload_offset IS NULL) = (payload_length IS NULL));
`;
