import { api } from "../api-client.js";
import { fill, h } from "../dom.js";

/** Stacks (the active one marked), every component and connector (secrets masked by the CLI), and the flavors there are. */
export async function stacksPage(root: HTMLElement): Promise<() => void> {
  const [{ stacks }, { components }, { flavors }] = await Promise.all([api.stacks(), api.components(), api.flavors()]);
  fill(
    root,
    h("h1", {}, "Stacks"),
    h(
      "table",
      { class: "stacks" },
      h("thead", {}, h("tr", {}, ...["Stack", "Orchestrator", "Artifact store", "Container registry"].map((c) => h("th", {}, c)))),
      h(
        "tbody",
        {},
        ...stacks.map((s) => {
          const cell = (type: string) => h("td", {}, s.components[type] ? `${s.components[type].name} (${s.components[type].flavor})` : "");
          return h(
            "tr",
            { "data-stack": s.name },
            h("td", {}, s.name, s.active ? h("span", { class: "active" }, " active") : null),
            cell("orchestrator"),
            cell("artifact_store"),
            cell("container_registry"),
          );
        }),
      ),
    ),
    h("h1", {}, "Components"),
    h(
      "table",
      { class: "components" },
      h("thead", {}, h("tr", {}, ...["Type", "Name", "Flavor", "Connector", "Stacks", "Config"].map((c) => h("th", {}, c)))),
      h(
        "tbody",
        {},
        ...components.map((c) =>
          h(
            "tr",
            { "data-component": `${c.type}/${c.name}` },
            h("td", {}, c.type.replaceAll("_", " ")),
            h("td", {}, c.name),
            h("td", {}, c.flavor),
            h("td", {}, c.connector ?? ""),
            h("td", {}, c.stacks.join(", ")),
            h("td", {}, h("pre", { class: "json" }, JSON.stringify(c.config, null, 2))),
          ),
        ),
      ),
    ),
    h("h1", {}, "Flavors"),
    h(
      "table",
      { class: "flavors" },
      h("thead", {}, h("tr", {}, ...["Type", "Name", "Origin", "Source", "Components", "Description"].map((c) => h("th", {}, c)))),
      h(
        "tbody",
        {},
        ...flavors.map((f) =>
          h(
            "tr",
            { "data-flavor": `${f.type}/${f.name}` },
            h("td", {}, f.type.replaceAll("_", " ")),
            h("td", {}, f.name),
            h("td", {}, f.origin),
            h("td", { class: "mono" }, f.source),
            h("td", {}, f.components.join(", ")),
            h("td", {}, f.description ?? ""),
          ),
        ),
      ),
    ),
  );
  return () => {};
}
