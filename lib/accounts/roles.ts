/** The roles a key can have, and what each may do (docs/http-api.md, "Tenants, keys and roles"). */
export const ROLES = ["owner", "developer", "predictor", "viewer"] as const;
export type Role = (typeof ROLES)[number];

/**
 * Every permission an action can require, and the roles that have it. The role table of
 * docs/http-api.md is this table; a test checks they agree, and the tenant-isolation matrix
 * test checks that the services enforce it.
 */
export const PERMISSIONS = {
	/** Read models, versions, aliases, schemas and metrics. */
	"models.read": ["owner", "developer", "predictor", "viewer"],
	/** Create, change and delete models, versions, tags and aliases; import model files. */
	"models.write": ["owner", "developer"],
	/** Move versions through the lifecycle. */
	"versions.transition": ["owner", "developer"],
	/** Create, change, scale, promote, roll back and delete deployments. */
	"deployments.write": ["owner", "developer"],
	/** Ask for predictions. */
	predict: ["owner", "developer", "predictor"],
	/** Start and cancel training jobs. */
	train: ["owner", "developer"],
	/** Create, list and revoke the tenant's API keys. */
	"keys.manage": ["owner"],
	/** Read the tenant's audit log. */
	"audit.read": ["owner"],
	/** Read the tenant's usage (requests, rows, runtime, training time, stored bytes). */
	"usage.read": ["owner", "developer", "predictor", "viewer"],
	/** Read the tenant's domain events (list and stream). */
	"events.read": ["owner", "developer", "predictor", "viewer"],
	/** Register, change and delete webhooks; read their deliveries and secrets, redeliver. */
	"webhooks.manage": ["owner"],
	/** Read the tenant itself. */
	"tenant.read": ["owner", "developer", "predictor", "viewer"],
} as const satisfies Record<string, readonly Role[]>;

export type Permission = keyof typeof PERMISSIONS;

export function isRole(value: unknown): value is Role {
	return typeof value === "string" && (ROLES as readonly string[]).includes(value);
}

export function rolesWith(permission: Permission): readonly Role[] {
	return PERMISSIONS[permission];
}

export function can(role: Role, permission: Permission): boolean {
	return (PERMISSIONS[permission] as readonly Role[]).includes(role);
}

/** Every permission `role` has, in the table's order. */
export function permissionsOf(role: Role): Permission[] {
	return (Object.keys(PERMISSIONS) as Permission[]).filter(permission => can(role, permission));
}
