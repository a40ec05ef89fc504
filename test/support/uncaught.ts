/**
 * The errors nobody handled while `run` was going on (and a moment after): each would have
 * ended a node's process. The test's own uncaught-exception listeners are set aside meanwhile.
 */
export async function uncaughtDuring(
	run: () => Promise<unknown>,
	settleMs = 100,
): Promise<Error[]> {
	const caught: Error[] = [];
	const onUncaught = (err: Error) => caught.push(err);
	const listeners = process.listeners("uncaughtException");
	process.removeAllListeners("uncaughtException");
	process.on("uncaughtException", onUncaught);
	try {
		await run().catch(() => undefined);
		await new Promise(resolve => setTimeout(resolve, settleMs));
	} finally {
		process.off("uncaughtException", onUncaught);
		for (const listener of listeners) process.on("uncaughtException", listener);
	}
	return caught;
}
