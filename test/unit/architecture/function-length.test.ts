/**
 * No function over 80 lines without a reason stated at its top (docs/issues: build rule 4).
 *
 * A function's length is the lines from its first token (its JSDoc not counted) to its closing
 * brace, as `node longfn.js` counts them. One over MAX_LINES in lib/, services/, mixins/ or
 * nodes/ must say why, in a comment with a line starting "Long because …", either at the top of
 * its body (the convention used here) or directly above it (in its JSDoc or a line comment):
 *
 *     export function loadNodeConfig(role: NodeRole, env: Environment): Readonly<NodeConfig> {
 *         // Long because it is one flat table of settings read in order, so every wrong one
 *         // is reported at once.
 *
 * The reason should be real (a compiled hot path, a flat table, a schema declaration); a
 * procedure that is merely long is split instead.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";
import { ROOT, tsFilesUnder } from "./source-imports";

const MAX_LINES = 80;
const DIRS = ["lib", "services", "mixins", "nodes"];
/** A comment line that starts (after `//`, `/*` or a JSDoc `*`) with "Long because". */
const REASON = /(^|\n)[ \t]*(\/\/+|\/\*+|\*)?[ \t]*Long because\b/;

interface LongFunction {
	where: string;
	name: string;
	lines: number;
	reasoned: boolean;
}

type FunctionNode = ts.FunctionLikeDeclaration & { body: ts.Node };

function isFunction(node: ts.Node): node is FunctionNode {
	return (
		(ts.isFunctionDeclaration(node) ||
			ts.isMethodDeclaration(node) ||
			ts.isArrowFunction(node) ||
			ts.isFunctionExpression(node)) &&
		node.body !== undefined
	);
}

function nameOf(node: FunctionNode): string {
	if (node.name) return node.name.getText();
	const parent = node.parent as ts.Node & { name?: ts.Node };
	return parent?.name ? parent.name.getText() : "(anonymous)";
}

function commentsAt(text: string, pos: number): string[] {
	return (ts.getLeadingCommentRanges(text, pos) ?? []).map(r => text.slice(r.pos, r.end));
}

/** The comments directly above the function (or its declaration) and at the top of its body. */
function commentsOf(node: FunctionNode, text: string): string[] {
	const comments: string[] = [];
	// Above: the function itself, and what declares it (`const f = …`, `name: function …`).
	let above: ts.Node = node;
	for (;;) {
		comments.push(...commentsAt(text, above.getFullStart()));
		const parent = above.parent;
		if (
			parent &&
			(ts.isVariableDeclaration(parent) ||
				ts.isVariableDeclarationList(parent) ||
				ts.isVariableStatement(parent) ||
				ts.isPropertyAssignment(parent) ||
				ts.isExportAssignment(parent))
		)
			above = parent;
		else break;
	}
	// At the top: right after the body's opening brace, or before an expression body.
	const body = node.body;
	if (ts.isBlock(body)) comments.push(...commentsAt(text, body.getStart() + 1));
	else comments.push(...commentsAt(text, body.getFullStart()));
	return comments;
}

function longFunctions(): LongFunction[] {
	const found: LongFunction[] = [];
	for (const file of DIRS.flatMap(dir => tsFilesUnder(dir))) {
		const text = fs.readFileSync(path.join(ROOT, file), "utf8");
		const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
		const visit = (node: ts.Node): void => {
			if (isFunction(node)) {
				const first = source.getLineAndCharacterOfPosition(node.getStart()).line;
				const last = source.getLineAndCharacterOfPosition(node.end).line;
				if (last - first > MAX_LINES)
					found.push({
						where: `${file}:${first + 1}`,
						name: nameOf(node),
						lines: last - first,
						reasoned: commentsOf(node, text).some(c => REASON.test(c)),
					});
			}
			ts.forEachChild(node, visit);
		};
		visit(source);
	}
	return found;
}

describe("function length", () => {
	const found = longFunctions();

	it("finds the long functions it should (the scanner works)", () => {
		expect(found.map(f => f.name)).toContain("loadNodeConfig");
	});

	it(`has no function over ${MAX_LINES} lines without a "Long because" reason at its top`, () => {
		const unexplained = found
			.filter(f => !f.reasoned)
			.map(f => `${f.where} ${f.name} (${f.lines} lines)`);
		expect(unexplained).toEqual([]);
	});

	it("recognises the reason in a line comment or a JSDoc line, and nothing else", () => {
		expect(REASON.test("// Long because it compiles the hot path once.")).toBe(true);
		expect(
			REASON.test("/**\n * Reads the settings.\n * Long because it is one table.\n */"),
		).toBe(true);
		expect(REASON.test("// as long as the node runs")).toBe(false);
		expect(REASON.test("// Longer because")).toBe(false);
	});
});
