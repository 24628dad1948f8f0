import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { workspacePackages } from "./workspace.js";

/**
 * Descriptions of config keys from the TSDoc comments in a flavor's schema
 * source (`/** Region of the bucket. *\/ region: z.string()`), for schemas
 * that document keys with comments rather than `.describe()`.
 *
 * Finds the `defineFlavor({ name, type, configSchema })` call of the flavor
 * in its package, then reads the comments of the properties of that schema
 * expression, then of the schemas it builds on (`base.extend({...})`,
 * `base.strict()`), the nearer definition winning.
 */
export class SchemaDocs {
  private readonly files = new Map<string, ts.SourceFile[]>();
  private readonly declarations = new Map<string, Array<{ folder: string; node: ts.Expression }>>();

  constructor() {
    for (const pkg of workspacePackages()) {
      const sources = listTs(join(pkg.dir, "src")).map((file) => ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true));
      this.files.set(pkg.folder, sources);
      for (const source of sources) {
        const visit = (node: ts.Node): void => {
          if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer) {
            const list = this.declarations.get(node.name.text) ?? [];
            list.push({ folder: pkg.folder, node: node.initializer });
            this.declarations.set(node.name.text, list);
          }
          ts.forEachChild(node, visit);
        };
        visit(source);
      }
    }
  }

  /** Key → description for a flavor of a package folder (e.g. `artifact-store-s3`). */
  keyDescriptions(folder: string, flavor: { name: string; type: string }): Map<string, string> {
    const docs = new Map<string, string>();
    const schema = this.findConfigSchema(folder, flavor);
    if (schema) this.collect(schema, folder, docs, new Set());
    return docs;
  }

  private findConfigSchema(folder: string, flavor: { name: string; type: string }): ts.Expression | undefined {
    for (const source of this.files.get(folder) ?? []) {
      let found: ts.Expression | undefined;
      const visit = (node: ts.Node): void => {
        if (found) return;
        if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === "defineFlavor") {
          const arg = node.arguments[0];
          if (arg && ts.isObjectLiteralExpression(arg) && stringProperty(arg, "name") === flavor.name && stringProperty(arg, "type") === flavor.type) {
            const prop = arg.properties.find((p): p is ts.PropertyAssignment => ts.isPropertyAssignment(p) && propertyName(p) === "configSchema");
            const shorthand = arg.properties.find((p) => ts.isShorthandPropertyAssignment(p) && p.name.text === "configSchema");
            found = prop?.initializer ?? (shorthand ? ts.factory.createIdentifier("configSchema") : undefined);
          }
        }
        ts.forEachChild(node, visit);
      };
      visit(source);
      if (found) return found;
    }
    return undefined;
  }

  /** Own properties first, then the schemas this expression builds on. */
  private collect(expression: ts.Node, folder: string, docs: Map<string, string>, seen: Set<string>): void {
    const references: string[] = [];
    const visit = (node: ts.Node): void => {
      if (ts.isPropertyAssignment(node)) {
        const key = propertyName(node);
        const doc = jsDocOf(node);
        if (key && doc && !docs.has(key)) docs.set(key, doc);
        return; // a property's value may hold nested schemas whose keys are not this schema's
      }
      if (ts.isIdentifier(node) && this.declarations.has(node.text)) references.push(node.text);
      ts.forEachChild(node, visit);
    };
    visit(expression);
    for (const name of references) {
      if (seen.has(name)) continue;
      seen.add(name);
      const candidates = this.declarations.get(name)!;
      const declaration = candidates.find((d) => d.folder === folder) ?? candidates.find((d) => d.folder === "core") ?? candidates[0]!;
      this.collect(declaration.node, declaration.folder, docs, seen);
    }
  }
}

function listTs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return listTs(path);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts") && !entry.name.endsWith(".d.ts") ? [path] : [];
  });
}

function propertyName(node: ts.PropertyAssignment): string | undefined {
  const name = node.name;
  if (ts.isIdentifier(name) || ts.isStringLiteral(name)) return name.text;
  return undefined;
}

function stringProperty(object: ts.ObjectLiteralExpression, key: string): string | undefined {
  const prop = object.properties.find((p): p is ts.PropertyAssignment => ts.isPropertyAssignment(p) && propertyName(p) === key);
  return prop && ts.isStringLiteralLike(prop.initializer) ? prop.initializer.text : undefined;
}

/** The text of the `/** ... *\/` comment right before a node, on one line. */
function jsDocOf(node: ts.Node): string | undefined {
  const source = node.getSourceFile().getFullText();
  const ranges = ts.getLeadingCommentRanges(source, node.getFullStart()) ?? [];
  const last = [...ranges].reverse().find((r) => source.slice(r.pos, r.pos + 3) === "/**");
  if (!last) return undefined;
  return source
    .slice(last.pos + 3, last.end - 2)
    .split("\n")
    .map((line) => line.replace(/^\s*\* ?/, "").trim())
    .filter((line) => !line.startsWith("@"))
    .join(" ")
    .replace(/\s+/g, " ")
    .trim();
}
