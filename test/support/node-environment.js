"use strict";
// Jest runs each test file in its own realm, so typed arrays made there are not the
// `Float32Array` that native addons (onnxruntime-node) and Buffer-producing code check
// against. Handing the sandbox Node's own constructors makes them one.
const { TestEnvironment } = require("jest-environment-node");

const SHARED = [
	"ArrayBuffer",
	"SharedArrayBuffer",
	"DataView",
	"Int8Array",
	"Uint8Array",
	"Uint8ClampedArray",
	"Int16Array",
	"Uint16Array",
	"Int32Array",
	"Uint32Array",
	"Float32Array",
	"Float64Array",
	"BigInt64Array",
	"BigUint64Array",
];

class ModelfleetEnvironment extends TestEnvironment {
	constructor(config, context) {
		super(config, context);
		for (const name of SHARED) {
			if (globalThis[name] !== undefined) this.global[name] = globalThis[name];
		}
	}
}

module.exports = ModelfleetEnvironment;
