/**
 * The console's Experiments and Runs screens (docs/console.md) in headless Chromium against an
 * all-in-one node: a small study made through the API shows its trials and one curve per trial;
 * on Runs two runs ticked with the keyboard are compared side by side (the differing learning
 * rate marked) with their curves overlaid; an owner edits a run's tags. A viewer key sees no
 * cancel or tag buttons. axe-core finds no serious or critical violation on either screen.
 * Skipped with a notice where Chromium is missing, unless MODELFLEET_REQUIRE_SERVICES is set.
 */
import { describeWithChromium } from "../support/chromium";
import {
	type Browser,
	type Page,
	expectAccessible,
	newTab,
	openConsole,
	screenshotFor,
	signIn,
	visit,
} from "../support/console-page";
import { createModelWithDataset } from "../support/model-with-dataset";
import { FAST_LOOPS_CPU_ONLY, startTestNode, type TestNode } from "../support/test-node";

const OWNER_KEY = "mf_console-experiments-owner";
const TRIALS = 3;
const EPOCHS = 4;

describeWithChromium("the console's experiments and runs in headless Chromium", chromium => {
	let testNode: TestNode;
	let base: string;
	let browser: Browser;
	let page: Page;
	let viewerKey: string;
	let studyId: string;

	/** The owner's calls of the `/api/v1` routes, the body read as an object. */
	const api = async (route: string, init: { method?: string; json?: unknown } = {}) => {
		const reply = await testNode.request(route, { method: init.method, body: init.json });
		return { status: reply.status, body: reply.body as Record<string, unknown> };
	};

	beforeAll(async () => {
		testNode = await startTestNode(OWNER_KEY, {
			...FAST_LOOPS_CPU_ONLY,
			LOG_LEVEL: "error",
			MODELFLEET_TRAINER_SLOTS: "2",
			MODELFLEET_POOL_THREADS: "1",
		});
		base = testNode.api.replace(/\/api\/v1$/, "");
		await createModelWithDataset(testNode.api, OWNER_KEY, "iris");
		const study = await api("/studies", {
			method: "POST",
			json: {
				target: "iris",
				name: "iris-random",
				base: {
					dataset: "iris",
					labelColumn: "label",
					epochs: EPOCHS,
					batchSize: 16,
					seed: 3,
				},
				space: { learningRate: { type: "loguniform", min: 0.001, max: 0.1 } },
				objective: { metric: "val_accuracy", direction: "max" },
				budget: { trials: TRIALS },
				parallelism: 2,
				searcher: { type: "random" },
				seed: 5,
				tags: ["console-study"],
			},
		});
		expect(study.status).toBe(201);
		studyId = study.body.id as string;
		const viewer = await api("/keys", {
			method: "POST",
			json: { name: "console-viewer", role: "viewer" },
		});
		viewerKey = viewer.body.key as string;
		({ browser, page } = await openConsole(chromium, base));
		await signIn(page, base, OWNER_KEY);
	}, 60_000);

	afterAll(async () => {
		await browser?.close();
		await testNode?.stop();
	});

	it("follows a study: its trials, the best marked, one curve per trial", async () => {
		await visit(page, "experiments", "ul[aria-label=Studies]");
		await page.click(`a[href="#/experiments/${studyId}"]`);
		await page.waitForSelector("table[aria-label=Trials]");
		// The trials finish and the study registers its best one; the page follows on its own.
		await page.waitForSelector("::-p-text(→ version)", { timeout: 60_000 });
		await page.waitForSelector(`.charts[data-trials="${TRIALS}"][data-epochs="${EPOCHS}"]`);
		const rows = (await page.evaluate(
			`[...document.querySelectorAll("table[aria-label=Trials] tbody tr")].map(tr => tr.textContent)`,
		)) as string[];
		expect(rows).toHaveLength(TRIALS);
		expect(rows.filter(r => r.includes("★ best"))).toHaveLength(1);
		expect(rows.every(r => r.includes("learningRate="))).toBe(true);
		expect(await page.$("canvas")).not.toBeNull();
		await expectAccessible(page, "experiments");
		await screenshotFor(page, "experiments");
	}, 75_000);

	it("compares two runs ticked with the keyboard and edits a run's tags", async () => {
		await visit(page, `runs/${studyId}`, "table[aria-label=Runs] input.run-select");
		await page.select("select[name=sort]", "val_accuracy");
		await page.waitForFunction(
			`document.querySelectorAll("table[aria-label=Runs] input.run-select").length >= ${TRIALS}`,
		);
		for (const index of [0, 1]) {
			const boxes = await page.$$("table[aria-label=Runs] input.run-select");
			await boxes[index].focus();
			await page.keyboard.press("Space");
		}
		await page.waitForSelector("table[aria-label='Compared parameters']");
		const differing = (await page.evaluate(
			`[...document.querySelectorAll("table[aria-label='Compared parameters'] tr.differs th")].map(th => th.textContent)`,
		)) as string[];
		expect(differing.some(name => name.startsWith("learningRate"))).toBe(true);
		// Only the differing ones: the same runs share every other parameter of the base.
		const compared = "table[aria-label='Compared parameters'] tbody tr";
		await page.click("input[name=only-differing]");
		await page.waitForFunction(`document.querySelectorAll("${compared}").length === 1`);
		await page.click("input[name=only-differing]");
		await page.waitForFunction(`document.querySelectorAll("${compared}").length > 1`);
		expect(
			await page.evaluate(
				`document.querySelector("table[aria-label='Compared metrics']").textContent`,
			),
		).toContain("val_accuracy");
		await page.waitForSelector(".charts[data-runs='2'] canvas");
		// Tags: replaced through PATCH /runs/{id}, then the tag filter finds the run.
		const input = await page.$("form.tag-editor input[name=tags]");
		await input!.click({ count: 3 });
		await input!.type("console-study, keep");
		const save = await page.waitForSelector(
			"form.tag-editor ::-p-xpath(.//button[normalize-space()='Save tags'])",
		);
		await save!.click();
		await page.waitForSelector("::-p-text(console-study, keep)");
		const kept = await api("/runs?tag=keep");
		expect((kept.body.items as unknown[]).length).toBe(1);
		await expectAccessible(page, "runs");
		await page.evaluate(`document.querySelector("table[aria-label=Runs]").scrollIntoView()`);
		await screenshotFor(page, "runs");
	}, 45_000);

	it("shows a viewer no cancel or tag buttons; an owner cancels a running study", async () => {
		// A study long enough to be running throughout.
		const long = await api("/studies", {
			method: "POST",
			json: {
				target: "iris",
				name: "iris-long",
				base: { dataset: "iris", labelColumn: "label", epochs: 500, batchSize: 4 },
				space: { learningRate: { type: "loguniform", min: 0.001, max: 0.1 } },
				objective: { metric: "val_accuracy" },
				budget: { trials: 50 },
				parallelism: 1,
			},
		});
		expect(long.status).toBe(201);
		const longId = long.body.id as string;
		const viewer = await newTab(browser);
		try {
			await signIn(viewer, base, viewerKey);
			await visit(viewer, `experiments/${longId}`, "table[aria-label=Trials]");
			await viewer.waitForSelector("::-p-text(1 started)");
			expect(await viewer.$("[data-write]")).toBeNull();
			await visit(viewer, `experiments/${studyId}`, "table[aria-label=Trials]");
			await expectAccessible(viewer, "viewer experiments");
			await visit(viewer, `runs/${studyId}`, "table[aria-label=Runs] input.run-select");
			const boxes = await viewer.$$("table[aria-label=Runs] input.run-select");
			await boxes[0].click();
			await boxes[1].click();
			await viewer.waitForSelector("table[aria-label='Compared parameters']");
			const writes = await viewer.evaluate(
				`[...document.querySelectorAll("[data-write], form.tag-editor")].map(el => el.outerHTML.slice(0, 80))`,
			);
			expect(writes).toEqual([]);
			await expectAccessible(viewer, "viewer runs");
		} finally {
			await viewer.close();
		}
		await visit(page, `experiments/${longId}`, "table[aria-label=Trials]");
		const cancel = await page.waitForSelector(
			"main ::-p-xpath(.//button[normalize-space()='Cancel study'])",
		);
		await cancel!.click();
		await page.waitForSelector("section[aria-label='Study iris-long'] .badge-cancelled");
		expect((await api(`/studies/${longId}`)).body.state).toBe("cancelled");
	}, 45_000);
});
