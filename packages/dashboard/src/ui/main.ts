import "./style.css";
import { fill, h } from "./dom.js";
import { artifactPage, artifactsPage, versionPage } from "./pages/artifacts-page.js";
import { comparePage } from "./pages/compare-page.js";
import { pipelinePage, pipelinesPage } from "./pages/pipelines-page.js";
import { runPage } from "./pages/run-page.js";
import { runsPage } from "./pages/runs-page.js";
import { stacksPage } from "./pages/stacks-page.js";

const root = document.getElementById("app")!;
let leave: () => void = () => {};

/** Draws the page the address names: /runs, /runs/<id>, /stacks. */
async function route(): Promise<void> {
  leave();
  leave = () => {};
  const { pathname, searchParams } = new URL(location.href);
  const parts = pathname.split("/").filter(Boolean).map(decodeURIComponent);
  try {
    if (parts[0] === "runs" && parts[1]) leave = await runPage(root, parts[1], searchParams);
    else if (parts[0] === "stacks") leave = await stacksPage(root);
    else if (parts[0] === "pipelines" && parts[1]) leave = await pipelinePage(root, parts[1], searchParams);
    else if (parts[0] === "pipelines") leave = await pipelinesPage(root);
    else if (parts[0] === "artifacts" && parts[1] && parts[2]) leave = await versionPage(root, parts[1], parts[2]);
    else if (parts[0] === "artifacts" && parts[1]) leave = await artifactPage(root, parts[1]);
    else if (parts[0] === "artifacts") leave = await artifactsPage(root, searchParams);
    else if (parts[0] === "compare") leave = await comparePage(root, searchParams);
    else leave = await runsPage(root, searchParams);
  } catch (error) {
    fill(root, h("p", { class: "error" }, (error as Error).message));
  }
  for (const link of document.querySelectorAll("header nav a")) link.classList.toggle("current", pathname.startsWith(link.getAttribute("href")!));
}

// Links inside the app change the page without reloading it (the event stream stays open).
document.addEventListener("click", (e) => {
  // HTML links and the SVG ones of the lineage graph (which have no .origin).
  const link = (e.target as Element).closest("a");
  const href = link?.getAttribute("href");
  if (!link || !href || e.metaKey || e.ctrlKey || e.shiftKey || link.getAttribute("target")) return;
  const url = new URL(href, location.href);
  if (url.origin !== location.origin) return;
  e.preventDefault();
  history.pushState(null, "", url.pathname + url.search);
  void route();
});
addEventListener("popstate", () => void route());
void route();
