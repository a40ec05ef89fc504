/** What every screen gets: the API with the signed-in key, and what that key may do. */
import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { ConsoleApi, Whoami } from "./api";

export interface Session {
	api: ConsoleApi;
	who: Whoami;
	/** Whether the key has `permission` (docs/http-api.md, the role table): write buttons show only then. */
	can: (permission: string) => boolean;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
	const session = useContext(SessionContext);
	if (session === null) throw new Error("No session: the screens render only after sign-in");
	return session;
}
