/**
 * Reads the imports of the repository's TypeScript files with the compiler's own parser:
 * `import`, `import type`, `export … from`, `import("…")` (in code and in types) and `require`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";

export const ROOT = path.join(__dirname, "..", "..", "..");

export interface SourceImport {
	/** The importing file, relative to the repository root, with "/" separators. */
	from: string;
	/** The imported file, relative to the repository root; null for a package. */
	to: string | null;
	specifier: string;
	/** The names imported (empty for a namespace or side-effect import). */
	names: string[];
	/** Only types come in (`import type`, every name `type`, or `import("…")` in a type). */
	typeOnly: boolean;
}

/** Every .ts file under `dir` (relative to the root), sorted. */
export function tsFilesUnder(dir: string): string[] {
	const found: string[] = [];
	const walk = (rel: string): void => {
		for (const entry of fs.readdirSync(path.join(ROOT, rel), { withFileTypes: true })) {
			const child = `${rel}/${entry.name}`;
			if (entry.isDirectory()) walk(child);
			else if (entry.name.endsWith(".ts")) found.push(child);
		}
	};
	walk(dir);
	return found.sort();
}

/** A relative specifier as the file it names (`x.ts` or `x/index.ts`), relative to the root. */
function resolve(from: string, specifier: string): string | null {
	if (!specifier.startsWith(".")) return null;
	const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier));
	for (const candidate of [base, `${base}.ts`, `${base}/index.ts`]) {
		const full = path.join(ROOT, candidate);
		if (fs.existsSync(full) && fs.statSync(full).isFile()) return candidate;
	}
	return `${base}.ts`;
}

export function importsOf(file: string): SourceImport[] {
	const text = fs.readFileSync(path.join(ROOT, file), "utf8");
	const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
	const found: SourceImport[] = [];
	const add = (specifier: string, names: string[], typeOnly: boolean): void => {
		found.push({ from: file, to: resolve(file, specifier), specifier, names, typeOnly });
	};
	const visit = (node: ts.Node): void => {
		if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
			const clause = node.importClause;
			const bindings = clause?.namedBindings;
			const named = bindings && ts.isNamedImports(bindings) ? [...bindings.elements] : [];
			const names = named.map(e => (e.propertyName ?? e.name).text);
			const typeOnly =
				clause !== undefined &&
				(clause.isTypeOnly ||
					(clause.name === undefined &&
						named.length > 0 &&
						named.every(e => e.isTypeOnly)));
			add(node.moduleSpecifier.text, names, typeOnly);
		} else if (
			ts.isExportDeclaration(node) &&
			node.moduleSpecifier &&
			ts.isStringLiteral(node.moduleSpecifier)
		) {
			const clause = node.exportClause;
			const named = clause && ts.isNamedExports(clause) ? [...clause.elements] : [];
			const names = named.map(e => (e.propertyName ?? e.name).text);
			const typeOnly =
				node.isTypeOnly || (named.length > 0 && named.every(e => e.isTypeOnly));
			add(node.moduleSpecifier.text, names, typeOnly);
		} else if (
			ts.isImportTypeNode(node) &&
			ts.isLiteralTypeNode(node.argument) &&
			ts.isStringLiteral(node.argument.literal)
		) {
			add(node.argument.literal.text, [], true);
		} else if (
			ts.isCallExpression(node) &&
			node.arguments.length === 1 &&
			ts.isStringLiteral(node.arguments[0]) &&
			(node.expression.kind === ts.SyntaxKind.ImportKeyword ||
				(ts.isIdentifier(node.expression) && node.expression.text === "require"))
		) {
			add(node.arguments[0].text, [], false);
		}
		ts.forEachChild(node, visit);
	};
	visit(source);
	return found;
}

/** The lib module a repository path belongs to: its top folder under lib/, or its file's name. */
export function libModuleOf(file: string): string | null {
	const match = /^lib\/([^/]+?)(?:\.ts)?(?:\/|$)/.exec(file);
	return match ? match[1] : null;
}
