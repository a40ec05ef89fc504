/**
 * The console's shell: sign in with an API key (checked with GET /api/v1/whoami, kept in session
 * storage), then a navigation of the screens, routed by the URL's hash (#/models/iris).
 */
import { useEffect, useMemo, useState } from "preact/hooks";
import { ConsoleApi, type Whoami } from "./api";
import { SessionContext, type Session } from "./context";
import { go, useHashRoute } from "./hooks";
import { storedKey, storeKey } from "./session";
import { ActivityScreen } from "./screens/activity";
import { DatasetsScreen } from "./screens/datasets";
import { DeploymentsScreen } from "./screens/deployments";
import { ExperimentsScreen } from "./screens/experiments";
import { FleetScreen } from "./screens/fleet";
import { ModelsScreen } from "./screens/models";
import { RunsScreen } from "./screens/runs";
import { TrainingScreen } from "./screens/training";

const SCREENS = [
	{ id: "fleet", title: "Fleet", render: () => <FleetScreen /> },
	{
		id: "models",
		title: "Models",
		render: (rest: string[]) => <ModelsScreen model={rest[0]} version={rest[1]} />,
	},
	{
		id: "deployments",
		title: "Deployments",
		render: (rest: string[]) => <DeploymentsScreen model={rest[0]} />,
	},
	{
		id: "training",
		title: "Training",
		render: (rest: string[]) => <TrainingScreen job={rest[0]} />,
	},
	{
		id: "experiments",
		title: "Experiments",
		render: (rest: string[]) => <ExperimentsScreen study={rest[0]} />,
	},
	{
		id: "runs",
		title: "Runs",
		render: (rest: string[]) => <RunsScreen study={rest[0]} />,
	},
	{
		id: "datasets",
		title: "Datasets",
		render: (rest: string[]) => <DatasetsScreen dataset={rest[0]} />,
	},
	{ id: "activity", title: "Usage & events", render: () => <ActivityScreen /> },
] as const;

export function App() {
	const [who, setWho] = useState<{ api: ConsoleApi; who: Whoami } | null>(null);
	const [checking, setChecking] = useState(storedKey() !== null);
	const [error, setError] = useState<string | null>(null);

	const signIn = async (key: string) => {
		setError(null);
		const api = new ConsoleApi(key.trim());
		try {
			const me = await api.get<Whoami>("/whoami");
			storeKey(key.trim());
			setWho({ api, who: me });
		} catch (err) {
			storeKey(null);
			setError((err as Error).message);
		} finally {
			setChecking(false);
		}
	};

	useEffect(() => {
		const key = storedKey();
		if (key !== null) void signIn(key);
	}, []);

	const session = useMemo<Session | null>(
		() =>
			who && {
				...who,
				can: (permission: string) => who.who.permissions.includes(permission),
			},
		[who],
	);

	if (checking) return <p class="muted center">Signing in…</p>;
	if (session === null) return <SignIn onSignIn={signIn} error={error} />;
	return (
		<SessionContext.Provider value={session}>
			<Shell
				onSignOut={() => {
					storeKey(null);
					setWho(null);
					go("fleet");
				}}
			/>
		</SessionContext.Provider>
	);
}

function SignIn({
	onSignIn,
	error,
}: {
	onSignIn: (key: string) => Promise<void>;
	error: string | null;
}) {
	const [key, setKey] = useState("");
	const [busy, setBusy] = useState(false);
	return (
		<main class="signin">
			<h1>modelfleet</h1>
			<form
				onSubmit={async e => {
					e.preventDefault();
					setBusy(true);
					await onSignIn(key);
					setBusy(false);
				}}
			>
				<label class="field">
					<span class="field-label">API key</span>
					<input
						id="api-key"
						type="password"
						autoComplete="off"
						required
						value={key}
						onInput={e => setKey((e.target as HTMLInputElement).value)}
						placeholder="mf_…"
					/>
				</label>
				<p class="hint">
					Kept in this tab's session storage only; sent to this gateway in a header.
				</p>
				<button class="button primary" type="submit" disabled={busy}>
					Sign in
				</button>
				{error && (
					<p class="error" role="alert">
						{error}
					</p>
				)}
			</form>
		</main>
	);
}

function Shell({ onSignOut }: { onSignOut: () => void }) {
	const route = useHashRoute();
	const [screenId, ...rest] = route;
	const screen = SCREENS.find(s => s.id === screenId) ?? SCREENS[0];
	return (
		<SessionContext.Consumer>
			{session => (
				<div class="shell">
					<button
						type="button"
						class="skip"
						onClick={() => document.getElementById("main")?.focus()}
					>
						Skip to content
					</button>
					<header class="top">
						<span class="brand">modelfleet</span>
						<nav aria-label="Screens">
							<ul>
								{SCREENS.map(s => (
									<li key={s.id}>
										<a
											href={`#/${s.id}`}
											aria-current={s.id === screen.id ? "page" : undefined}
										>
											{s.title}
										</a>
									</li>
								))}
							</ul>
						</nav>
						<span class="who" data-role={session!.who.role}>
							{session!.who.tenant.name} · {session!.who.role}
						</span>
						<button type="button" class="button plain" onClick={onSignOut}>
							Sign out
						</button>
					</header>
					<main id="main" tabIndex={-1}>
						<h1>{screen.title}</h1>
						{screen.render(rest)}
					</main>
				</div>
			)}
		</SessionContext.Consumer>
	);
}
