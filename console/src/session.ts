/**
 * The API key of this browser tab: kept in session storage, so it lives as long as the tab and
 * is never written to disk or sent anywhere but this gateway's /api/v1 (in a header).
 */
const KEY = "modelfleet.apiKey";

export function storedKey(): string | null {
	try {
		return sessionStorage.getItem(KEY);
	} catch {
		return null;
	}
}

export function storeKey(key: string | null): void {
	try {
		if (key === null) sessionStorage.removeItem(KEY);
		else sessionStorage.setItem(KEY, key);
	} catch {
		// Storage refused (private mode): the key lives in memory for this page only.
	}
}
