import { probeExternalServices } from "./external-services";

export default async function globalSetup(): Promise<void> {
	await probeExternalServices();
}
