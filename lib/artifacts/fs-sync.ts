import * as fs from "node:fs";

/**
 * fsync of a file or a directory: a file's bytes, or a rename into a directory, survive a
 * power loss only once synced.
 */
export async function fsyncPath(target: string): Promise<void> {
	const handle = await fs.promises.open(target, "r");
	try {
		await handle.sync();
	} finally {
		await handle.close();
	}
}
