/** The URL of what a create made, for the `Location` header of a 201. */
export function createdLocation(basePath: string, created: unknown, requestPath: string): string {
	const value = (created ?? {}) as {
		model?: unknown;
		version?: unknown;
		name?: unknown;
		ref?: unknown;
		id?: unknown;
	};
	const segment = (v: unknown) => encodeURIComponent(String(v));
	if (typeof value.ref === "string" && value.model !== undefined && value.version !== undefined) {
		return `${basePath}/models/${segment(value.model)}/versions/${segment(value.version)}`;
	}
	if (/\/models\/?$/.test(requestPath) && typeof value.name === "string") {
		return `${basePath}/models/${segment(value.name)}`;
	}
	if (/\/deployments\/?$/.test(requestPath) && typeof value.model === "string") {
		return `${basePath}/deployments/${segment(value.model)}`;
	}
	if (/\/webhooks\/?$/.test(requestPath) && typeof value.id === "string") {
		return `${basePath}/webhooks/${segment(value.id)}`;
	}
	return requestPath;
}
