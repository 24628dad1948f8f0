import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json",
};

/** The package's folder, found from this module whether it runs from dist or (in tests) from src. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("@stackyard/dashboard: cannot find its package folder");
    dir = parent;
  }
  return dir;
}

/** The built web UI (dist/ui), served as files; every other page gets the same shell. */
export class StaticFiles {
  readonly dir = join(packageRoot(), "dist", "ui");
  private readonly files = new Map<string, { type: string; body: Buffer }>();

  constructor() {
    for (const name of ["app.js", "app.css", "app.js.map", "app.css.map"]) {
      const path = join(this.dir, name);
      if (existsSync(path)) this.files.set(`/ui/${name}`, { type: TYPES[name.slice(name.lastIndexOf("."))]!, body: readFileSync(path) });
    }
    if (!this.files.has("/ui/app.js")) {
      throw new Error(`@stackyard/dashboard: its web UI is not built (${join(this.dir, "app.js")} is missing). Build the package: npm run build`);
    }
  }

  file(path: string): { type: string; body: Buffer } | undefined {
    return this.files.get(path);
  }

  /** The HTML every page starts from; the script draws the page its URL names. */
  shell(): string {
    const css = this.files.has("/ui/app.css") ? `<link rel="stylesheet" href="/ui/app.css">` : "";
    return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Stackyard</title>
${css}
</head>
<body>
<header class="top"><a class="brand" href="/runs">Stackyard</a><nav><a href="/runs">Runs</a><a href="/pipelines">Pipelines</a><a href="/artifacts">Artifacts</a><a href="/stacks">Stacks</a></nav></header>
<main id="app"></main>
<script src="/ui/app.js"></script>
</body>
</html>
`;
  }
}
