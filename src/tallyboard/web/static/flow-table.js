// The flow table of the Integrations tab: one organization's flows with their period
// usage, searched, filtered, sorted and paged by the server (integrationsUsageDetails
// with opaque cursors; "Previous" goes back to a cursor already seen). The choices
// survive a change of period or a refresh.

import { h, nextId } from "./dom.js";
import { downloadCsv, slug } from "./csv.js";
import { Unauthorized } from "./graphql.js";
import { formatDateTime, formatInt } from "./format.js";
import { badge, barCell, card, emptyInline, errorState } from "./ui.js";

const FLOWS = `query DashboardFlows($org: ID!, $period: PeriodFilter!, $status: String, $search: String, $sort: SortCriteria, $first: Int, $after: String) {
  integrationsUsageDetails(organizationUuid: $org, period: $period, status: $status, search: $search, sort: $sort, first: $first, after: $after) {
    totalFlows
    totalTasks
    edges { cursor node { id name project { name icon color } tasks runs lastRunAt status } }
    pageInfo { hasNextPage endCursor }
  }
}`;

const PAGE_SIZES = [10, 20, 50, 100];
const SORTS = { name: "asc", usage: "desc", status: "asc" };
const COLORS = new Set(["blue", "green", "amber", "violet", "rose", "teal", "red", "orange", "purple", "pink", "indigo", "cyan", "gray"]);
const DEFAULTS = { org: null, search: "", status: "", by: "usage", order: "desc", first: 20 };
const remembered = { ...DEFAULTS };

/** Forget the table's choices (on sign-out: the next person starts afresh). */
export function forgetFlowTable() {
  Object.assign(remembered, DEFAULTS);
}

const CSV_COLUMNS = [
  { label: "Flow ID", csv: (f) => f.id },
  { label: "Flow", csv: (f) => f.name },
  { label: "Project", csv: (f) => f.project?.name ?? "" },
  { label: "Status", csv: (f) => f.status },
  { label: "Runs", numeric: true, csv: (f) => f.runs },
  { label: "Tasks", numeric: true, csv: (f) => f.tasks },
  { label: "Last run (UTC)", csv: (f) => f.lastRunAt ?? "" },
];

function labelled(text, control) {
  const id = control.id || nextId("control");
  control.id = id;
  return h("div", { class: "field" }, h("label", { for: id }, text), control);
}

function projectChip(project) {
  if (!project) return null;
  const color = COLORS.has(project.color) ? project.color : "gray";
  return h("span", { class: "project", title: project.icon ? `Project (${project.icon})` : "Project" }, h("span", { class: `dot dot-${color}`, "aria-hidden": "true" }), project.name);
}

export function createFlowTable(ctx, orgs) {
  const state = {
    ...remembered,
    org: orgs.find((o) => o.uuid === remembered.org) ?? orgs[0],
    cursors: [null],
    page: 0,
  };
  let controller = null;
  let searchTimer = null;

  const orgSelect = h("select", { "data-testid": "flow-org" }, ...orgs.map((o) => h("option", { value: o.uuid, selected: o.uuid === state.org.uuid }, o.name)));
  const search = h("input", { type: "search", placeholder: "Flow or project name", value: state.search, autocomplete: "off", "data-testid": "flow-search" });
  const status = h(
    "select",
    { "data-testid": "flow-status" },
    h("option", { value: "", selected: state.status === "" }, "All statuses"),
    h("option", { value: "ENABLED", selected: state.status === "ENABLED" }, "Enabled"),
    h("option", { value: "DISABLED", selected: state.status === "DISABLED" }, "Disabled"),
  );
  const size = h("select", { "data-testid": "flow-page-size" }, ...PAGE_SIZES.map((n) => h("option", { value: n, selected: n === state.first }, String(n))));
  const summary = h("p", { class: "muted small", "aria-live": "polite", "data-testid": "flow-summary" });
  const holder = h("div", { class: "table-wrap flow-holder" });
  const previous = h("button", { class: "button small", type: "button", disabled: true }, "← Previous");
  const next = h("button", { class: "button small", type: "button", disabled: true }, "Next →");
  const pageLabel = h("span", { class: "muted small", "data-testid": "flow-page" });
  const exportButton = h("button", { class: "button ghost small", type: "button", "aria-label": "Export flows as CSV" }, "Export CSV");

  function remember() {
    Object.assign(remembered, { org: state.org.uuid, search: state.search, status: state.status, by: state.by, order: state.order, first: state.first });
  }

  function restart() {
    state.cursors = [null];
    state.page = 0;
    remember();
    load();
  }

  function variables(after, first) {
    return {
      org: state.org.uuid,
      period: ctx.period,
      status: state.status || null,
      search: state.search.trim() || null,
      sort: { by: state.by, order: state.order },
      first,
      after,
    };
  }

  function header(label, by) {
    if (!by) return h("th", { scope: "col", class: label === "Runs" || label === "Tasks" ? "num" : "" }, label);
    const active = state.by === by;
    const direction = active ? (state.order === "asc" ? "ascending" : "descending") : null;
    return h(
      "th",
      { scope: "col", "aria-sort": direction ?? "none", class: by === "usage" ? "num" : "" },
      h(
        "button",
        {
          type: "button",
          class: `sort${active ? " active" : ""}`,
          "data-sort": by,
          onclick: () => {
            if (state.by === by) state.order = state.order === "asc" ? "desc" : "asc";
            else {
              state.by = by;
              state.order = SORTS[by];
            }
            restart();
          },
        },
        label,
        h("span", { class: "sort-icon", "aria-hidden": "true" }, active ? (state.order === "asc" ? "▲" : "▼") : "↕"),
      ),
    );
  }

  function render(details) {
    const edges = details.edges;
    const filtered = state.search.trim() || state.status;
    const first = state.page * state.first + 1;
    summary.textContent = `${formatInt(details.totalFlows)} flow${details.totalFlows === 1 ? "" : "s"} · ${formatInt(details.totalTasks)} tasks${filtered ? " matching" : ""}`;
    pageLabel.textContent = edges.length ? `${formatInt(first)}–${formatInt(first + edges.length - 1)} of ${formatInt(details.totalFlows)}` : "";
    previous.disabled = state.page === 0;
    next.disabled = !details.pageInfo.hasNextPage;
    if (details.pageInfo.hasNextPage) state.cursors[state.page + 1] = details.pageInfo.endCursor;
    exportButton.disabled = details.totalFlows === 0;
    if (!edges.length) {
      holder.replaceChildren(
        emptyInline(filtered ? "No flows match these filters." : "This organization has no integration flows yet."),
        filtered
          ? h("button", { class: "button small", type: "button", onclick: () => {
              state.search = "";
              state.status = "";
              search.value = "";
              status.value = "";
              restart();
            } }, "Clear filters")
          : null,
      );
      return;
    }
    const total = Math.max(1, details.totalTasks);
    holder.replaceChildren(
      h(
        "table",
        { class: "data-table flows", "data-testid": "flows-table" },
        h("caption", { class: "visually-hidden" }, `Flows of ${state.org.name}`),
        h("thead", {}, h("tr", {}, header("Flow", "name"), header("Status", "status"), header("Runs"), header("Tasks", "usage"), header("Last run"))),
        h(
          "tbody",
          {},
          ...edges.map(({ node }) =>
            h(
              "tr",
              { "data-flow-id": node.id },
              h("td", {}, h("div", { class: "flow-name" }, node.name), projectChip(node.project)),
              h("td", {}, node.status === "ENABLED" ? badge("Enabled", "success") : badge("Disabled", "neutral")),
              h("td", { class: "num" }, formatInt(node.runs)),
              h("td", { class: "num" }, barCell(formatInt(node.tasks), node.tasks / total)),
              h("td", { class: "nowrap" }, node.lastRunAt ? formatDateTime(node.lastRunAt) : h("span", { class: "muted" }, "Not in this period")),
            ),
          ),
        ),
      ),
    );
  }

  async function load() {
    controller?.abort();
    controller = new AbortController();
    const signal = AbortSignal.any([ctx.signal, controller.signal]);
    holder.setAttribute("aria-busy", "true");
    holder.classList.add("is-loading");
    try {
      const answer = await ctx.client.request("DashboardFlows", FLOWS, variables(state.cursors[state.page], state.first), { signal });
      render(answer.get("integrationsUsageDetails"));
    } catch (error) {
      if (error.name === "AbortError") return;
      if (error instanceof Unauthorized) {
        ctx.fail(error);
        return;
      }
      holder.replaceChildren(errorState(error, load));
    } finally {
      if (!signal.aborted) {
        holder.removeAttribute("aria-busy");
        holder.classList.remove("is-loading");
      }
    }
  }

  async function exportAll() {
    exportButton.disabled = true;
    exportButton.textContent = "Exporting…";
    try {
      const flows = [];
      let after = null;
      do {
        const answer = await ctx.client.request("DashboardFlowsExport", FLOWS.replace("DashboardFlows", "DashboardFlowsExport"), variables(after, 100), { signal: ctx.signal });
        const details = answer.get("integrationsUsageDetails");
        flows.push(...details.edges.map((e) => e.node));
        after = details.pageInfo.hasNextPage ? details.pageInfo.endCursor : null;
      } while (after);
      downloadCsv(`tallyboard-${slug(state.org.name)}-${ctx.period}-flows.csv`, CSV_COLUMNS, flows);
    } catch (error) {
      if (error instanceof Unauthorized) ctx.fail(error);
      else if (error.name !== "AbortError") holder.replaceChildren(errorState(error, load));
    } finally {
      exportButton.disabled = false;
      exportButton.textContent = "Export CSV";
    }
  }

  orgSelect.addEventListener("change", () => {
    state.org = orgs.find((o) => o.uuid === orgSelect.value);
    restart();
  });
  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      state.search = search.value;
      restart();
    }, 250);
  });
  status.addEventListener("change", () => {
    state.status = status.value;
    restart();
  });
  size.addEventListener("change", () => {
    state.first = Number(size.value);
    restart();
  });
  previous.addEventListener("click", () => {
    state.page = Math.max(0, state.page - 1);
    load();
  });
  next.addEventListener("click", () => {
    state.page += 1;
    load();
  });
  exportButton.addEventListener("click", exportAll);

  const toolbar = h(
    "div",
    { class: "toolbar" },
    orgs.length > 1 ? labelled("Organization", orgSelect) : null,
    labelled("Search", search),
    labelled("Status", status),
    labelled("Rows per page", size),
  );
  load();
  return card(
    { title: "Flows", subtitle: orgs.length > 1 ? "One organization at a time" : null, actions: [exportButton], className: "table-card" },
    toolbar,
    summary,
    holder,
    h("nav", { class: "pager", "aria-label": "Flow table pages" }, previous, pageLabel, next),
  );
}
