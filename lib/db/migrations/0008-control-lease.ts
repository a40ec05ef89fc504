/**
 * 0008 — the control plane's leadership lease (lib/scheduler/leader-lease.ts). One row per
 * lease: who holds it, the epoch (one more at every change of holder, or after a lapse) and
 * when it expires by the database's clock, so nodes' clocks never have to agree. Leader writes
 * check the row in the same transaction (FOR SHARE): a node whose lease lapsed is refused.
 */
export const up = `
CREATE TABLE control_leases (
	name text PRIMARY KEY,
	holder text NOT NULL,
	node_id text NOT NULL,
	epoch bigint NOT NULL,
	acquired_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL
);
`;
