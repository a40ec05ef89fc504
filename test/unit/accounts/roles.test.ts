import { can, PERMISSIONS, permissionsOf, ROLES } from "../../../lib/accounts/roles";

describe("roles", () => {
	it("orders roles from most to least powerful: each may do all that the next may", () => {
		for (let i = 0; i + 1 < ROLES.length; i++) {
			for (const permission of Object.keys(PERMISSIONS) as (keyof typeof PERMISSIONS)[]) {
				if (can(ROLES[i + 1], permission)) expect(can(ROLES[i], permission)).toBe(true);
			}
		}
	});

	it("lets only owners manage keys and read the audit log", () => {
		expect(ROLES.filter(r => can(r, "keys.manage"))).toEqual(["owner"]);
		expect(ROLES.filter(r => can(r, "audit.read"))).toEqual(["owner"]);
		expect(ROLES.filter(r => can(r, "predict"))).toEqual(["owner", "developer", "predictor"]);
	});
});

describe("permissionsOf", () => {
	it("lists what each role may do, as the table says", () => {
		expect(permissionsOf("viewer")).toEqual([
			"models.read",
			"usage.read",
			"events.read",
			"tenant.read",
		]);
		expect(permissionsOf("owner")).toEqual(Object.keys(PERMISSIONS));
		for (const role of ROLES)
			for (const p of permissionsOf(role)) expect(can(role, p)).toBe(true);
	});
});
