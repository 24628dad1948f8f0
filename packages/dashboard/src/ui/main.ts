import "./style.css";
import { fill, h } from "./dom.js";
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
    else if (parts[0] === "compare") leave = await comparePage(root, searchParams);
    else leave = await runsPage(root, searchParams);
  } catch (error) {
    fill(root, h("p", { class: "error" }, (error as Error).message));
  }
  for (const link of document.querySelectorAll("header nav a")) link.classList.toggle("current", pathname.startsWith(link.getAttribute("href")!));
}

// Links inside the app change the page without reloading it (the event stream stays open).
document.addEventListener("click", (e) => {
  const link = (e.target as Element).closest("a");
  if (!link || link.origin !== location.origin || e.metaKey || e.ctrlKey || e.shiftKey || link.target) return;
  e.preventDefault();
  history.pushState(null, "", link.pathname + link.search);
  void route();
});
addEventListener("popstate", () => void route());
void route();
