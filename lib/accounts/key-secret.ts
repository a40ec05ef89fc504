import { eq } from "drizzle-orm";
import type { Db } from "../db/database";
import { installationSecrets } from "../db/schema";
import { newKeySecret } from "./api-key";

/** The installation_secrets row API keys are hashed with. */
export const API_KEY_SECRET_NAME = "api-key-hmac";

/**
 * The secret API keys are hashed with, from the metadata database every control node shares:
 * the first node to ask generates it; nodes that ask at the same time all read the one that won
 * (the primary key lets exactly one insert land).
 */
export async function installationKeySecret(db: Db): Promise<string> {
	const read = async () =>
		(
			await db
				.select({ value: installationSecrets.value })
				.from(installationSecrets)
				.where(eq(installationSecrets.name, API_KEY_SECRET_NAME))
		)[0]?.value;
	const existing = await read();
	if (existing !== undefined) return existing;
	await db
		.insert(installationSecrets)
		.values({ name: API_KEY_SECRET_NAME, value: newKeySecret() })
		.onConflictDoNothing({ target: installationSecrets.name });
	const stored = await read();
	if (stored === undefined) throw new Error("The API key secret could not be stored.");
	return stored;
}
