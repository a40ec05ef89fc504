import { totalUse, useOf } from "../../../lib/scheduler/deployment-use";

const shape = (replicas: number, maxReplicas: number, autoscaling: boolean, gpus: 0 | 1) => ({
	replicas,
	maxReplicas,
	autoscaling: autoscaling ? {} : null,
	resources: { gpus },
});

describe("deployment use", () => {
	it("counts a fixed deployment's replicas, an autoscaled one's maximum, and a GPU per replica", () => {
		expect(useOf(shape(2, 2, false, 0))).toEqual({ deployments: 1, replicas: 2, gpus: 0 });
		expect(useOf(shape(1, 5, true, 1))).toEqual({ deployments: 1, replicas: 5, gpus: 5 });
		expect(useOf(shape(0, 0, false, 1))).toEqual({ deployments: 1, replicas: 0, gpus: 0 });
	});

	it("adds a tenant's deployments up", () => {
		expect(totalUse([shape(2, 2, false, 0), shape(1, 3, true, 1)])).toEqual({
			deployments: 2,
			replicas: 5,
			gpus: 3,
		});
		expect(totalUse([])).toEqual({ deployments: 0, replicas: 0, gpus: 0 });
	});
});
