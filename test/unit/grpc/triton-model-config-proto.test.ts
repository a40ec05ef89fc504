/**
 * The ModelConfig part of proto/grpc_service.proto against Triton's own protos, unchanged in
 * test/fixtures/triton: every message and enum both define must agree field by field (name,
 * number, type), or tritonclient's generated classes would misread the gateway's bytes.
 */
import * as path from "node:path";
import { loadSync } from "@grpc/proto-loader";
import { protoPath } from "../../../lib/grpc/proto";
import { tritonDataType } from "../../../lib/http/oip-model-config";
import { OIP_DATATYPES } from "../../../lib/model-spec/model-schema";

const TRITON_DIR = path.resolve(__dirname, "../../fixtures/triton");

interface Field {
	name: string;
	number: number;
	label: string;
	type: string;
	typeName: string;
}
interface EnumValue {
	name: string;
	number: number;
}
interface Descriptor {
	name: string;
	field?: Field[];
	value?: EnumValue[];
	nestedType?: Descriptor[];
	enumType?: Descriptor[];
}

/**
 * Every message and enum of a proto file, nested ones included (`inference.ModelInput.Format`),
 * as comparable rows: a message's fields, an enum's values.
 */
function typesOf(file: string, includeDirs: string[] = []): Map<string, (Field | EnumValue)[]> {
	const types = new Map<string, (Field | EnumValue)[]>();
	const add = (name: string, d: Descriptor): void => {
		types.set(
			name,
			d.field
				? d.field.map(f => ({
						name: f.name,
						number: f.number,
						label: f.label,
						type: f.type,
						typeName: f.typeName,
					}))
				: (d.value ?? []).map(v => ({ name: v.name, number: v.number })),
		);
		for (const nested of [...(d.nestedType ?? []), ...(d.enumType ?? [])])
			add(`${name}.${nested.name}`, nested);
	};
	const loaded = loadSync(file, { keepCase: true, includeDirs });
	for (const [name, definition] of Object.entries(loaded)) {
		const type = (definition as { type?: Descriptor }).type;
		if (type) add(name, type);
	}
	return types;
}

const ours = typesOf(protoPath());
const triton = typesOf(path.join(TRITON_DIR, "model_config_service.proto"), [TRITON_DIR]);
const shared = [...ours.keys()].filter(name => triton.has(name));

/** The path of the ModelConfig RPC in a proto file. */
function modelConfigPath(file: string, includeDirs: string[] = []): string {
	const service = loadSync(file, { keepCase: true, includeDirs })[
		"inference.GRPCInferenceService"
	] as Record<string, { path: string }>;
	return service.ModelConfig.path;
}

describe("proto/grpc_service.proto's ModelConfig", () => {
	it("shares the ModelConfig RPC's messages and enums with Triton's protos", () => {
		expect(shared).toEqual(
			expect.arrayContaining([
				"inference.ModelConfigRequest",
				"inference.ModelConfigResponse",
				"inference.ModelConfig",
				"inference.ModelInput",
				"inference.ModelInput.Format",
				"inference.ModelOutput",
				"inference.ModelDynamicBatching",
				"inference.ModelQueuePolicy",
				"inference.ModelInstanceGroup.Kind",
				"inference.DataType",
			]),
		);
	});

	it.each(shared)("keeps Triton's names, numbers and types in %s", name => {
		const theirs = triton.get(name);
		for (const row of ours.get(name) ?? []) expect(theirs).toContainEqual(row);
	});

	it("serves ModelConfig at Triton's method path", () => {
		expect(modelConfigPath(protoPath())).toBe(
			modelConfigPath(path.join(TRITON_DIR, "model_config_service.proto"), [TRITON_DIR]),
		);
	});

	it("has a DataType value for every datatype a model may declare", () => {
		const names = (ours.get("inference.DataType") ?? []).map(v => v.name);
		for (const datatype of OIP_DATATYPES) expect(names).toContain(tritonDataType(datatype));
	});
});
