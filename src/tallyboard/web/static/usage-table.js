// A server-paged usage table for automationsUsageDetails and agentsUsageDetails: one
// organization at a time (chosen beside it), search, the filters the answer offers in
// availableFilters, sorting by the column headers and cursor paging ("Previous" goes
// back to a cursor already seen). The day range is the period's filterDate.
//
// `kind` describes the query: its field, its connection, how usage is shown. The two
// queries need the super admin role; a refusal is shown in the table, not the tab.

import { h, nextId } from "./dom.js";
import { Unauthorized } from "./graphql.js";
import { formatDateTime, formatInt } from "./format.js";
import { formatCredits } from "./credits.js";
import { badge, barCell, card, emptyInline, errorState } from "./ui.js";

const NODE = "id name usage action event status actionRepo { name } eventRepo { name } createdAt updatedAt createdBy { name } tags { name }";
const PAGE_SIZES = [10, 20, 50, 100];
const FILTERS = [
  ["action", "Action", "action"],
  ["event", "Event", "event"],
  ["pipe", "Pipe", "pipes"],
  ["status", "Status", "status"],
  ["tags", "Tag", "tags"],
];

export const AUTOMATIONS = {
  key: "automations",
  field: "automationsUsageDetails",
  connection: "automations",
  operationName: "DashboardAutomations",
  title: "Automations",
  noun: ["automation", "automations"],
  usageLabel: "Jobs",
  usageText: (v) => formatInt(v),
  usageRatio: (v, total) => v / Math.max(1, total),
  searchHint: "Automation name",
  empty: "This organization has no automations yet.",
};

export const AGENTS = {
  key: "agents",
  field: "agentsUsageDetails",
  connection: "agents",
  operationName: "DashboardAgents",
  title: "AI agents",
  noun: ["agent", "agents"],
  usageLabel: "Credits",
  usageText: (v) => formatCredits(v),
  usageRatio: (v, total) => (total > 0 ? v / total : 0),
  searchHint: "Agent name",
  empty: "This organization has no AI agents yet.",
};

function query(kind) {
  return `query ${kind.operationName}($org: ID!, $range: DateRange!, $search: String, $filters: FilterParams, $sort: SortCriteria, $first: Int, $after: String) {
  ${kind.field}(organizationUuid: $org, filterDate: $range, search: $search, filters: $filters, sort: $sort) {
    usage
    availableFilters { action event status tags pipes { uuid name } }
    ${kind.connection}(first: $first, after: $after) { totalCount edges { cursor node { ${NODE} } } pageInfo { hasNextPage endCursor } }
  }
}`;
}

function labelled(text, control) {
  control.id = control.id || nextId("control");
  return h("div", { class: "field" }, h("label", { for: control.id }, text), control);
}

function where(node) {
  const parts = [node.event, node.action].filter(Boolean).join(" → ");
  const pipes = [node.eventRepo?.name, node.actionRepo?.name].filter(Boolean);
  return [parts, pipes.length ? ` · ${[...new Set(pipes)].join(", ")}` : ""].join("");
}

/** The table; `onOrg(org)` is told the organization shown (at once and on change). */
export function createUsageTable(ctx, orgs, range, kind, { onOrg = () => {} } = {}) {
  const state = { org: orgs[0], search: "", filters: {}, by: "usage", order: "desc", first: 20, cursors: [null], page: 0 };
  const doc = query(kind);
  let controller = null;
  let searchTimer = null;
  const id = (suffix) => `${kind.key}-${suffix}`;

  const orgSelect = h("select", { "data-testid": id("org") }, ...orgs.map((o) => h("option", { value: o.uuid }, o.name)));
  const search = h("input", { type: "search", placeholder: kind.searchHint, autocomplete: "off", "data-testid": id("search") });
  const selects = Object.fromEntries(FILTERS.map(([name]) => [name, h("select", { "data-testid": id(`filter-${name}`) }, h("option", { value: "" }, "All"))]));
  const size = h("select", { "data-testid": id("page-size") }, ...PAGE_SIZES.map((n) => h("option", { value: n, selected: n === state.first }, String(n))));
  const summary = h("p", { class: "muted small", "aria-live": "polite", "data-testid": id("summary") });
  const holder = h("div", { class: "table-wrap flow-holder" });
  const previous = h("button", { class: "button small", type: "button", disabled: true }, "← Previous");
  const next = h("button", { class: "button small", type: "button", disabled: true }, "Next →");
  const pageLabel = h("span", { class: "muted small", "data-testid": id("page") });

  function restart() {
    state.cursors = [null];
    state.page = 0;
    load();
  }

  function variables() {
    const filters = {};
    for (const [name, value] of Object.entries(state.filters)) if (value) filters[name] = [value];
    return {
      org: state.org.uuid,
      range: { from: range.from, to: range.to },
      search: state.search.trim() || null,
      filters,
      sort: { by: state.by, order: state.order },
      first: state.first,
      after: state.cursors[state.page],
    };
  }

  function offer(available) {
    for (const [name, , source] of FILTERS) {
      const values = source === "pipes" ? available.pipes.map((p) => [p.uuid, p.name]) : available[source].map((v) => [v, v]);
      const chosen = state.filters[name] ?? "";
      selects[name].replaceChildren(
        h("option", { value: "" }, "All"),
        ...values.map(([value, text]) => h("option", { value, selected: value === chosen }, text)),
      );
      selects[name].disabled = values.length === 0 && !chosen;
    }
  }

  function header(label, by, numeric = false) {
    if (!by) return h("th", { scope: "col", class: numeric ? "num" : "" }, label);
    const active = state.by === by;
    return h(
      "th",
      { scope: "col", "aria-sort": active ? (state.order === "asc" ? "ascending" : "descending") : "none", class: numeric ? "num" : "" },
      h(
        "button",
        {
          type: "button",
          class: `sort${active ? " active" : ""}`,
          "data-sort": by,
          onclick: () => {
            if (active) state.order = state.order === "asc" ? "desc" : "asc";
            else [state.by, state.order] = [by, by === "usage" ? "desc" : "asc"];
            restart();
          },
        },
        label,
        h("span", { class: "sort-icon", "aria-hidden": "true" }, active ? (state.order === "asc" ? "▲" : "▼") : "↕"),
      ),
    );
  }

  function row(node, total) {
    const name = node.name === null ? h("span", { class: "muted" }, "Deleted agent") : node.name;
    return h(
      "tr",
      { "data-id": node.id },
      h("td", {}, h("div", { class: "flow-name" }, name, h("span", { class: "agent-id" }, node.id)), h("div", { class: "muted small" }, where(node))),
      h("td", {}, node.status.toLowerCase() === "active" ? badge(node.status, "success") : badge(node.status, "neutral")),
      h("td", {}, node.tags.map((t) => t.name).join(", ")),
      h("td", { class: "num" }, barCell(kind.usageText(node.usage), kind.usageRatio(node.usage, total))),
      h("td", { class: "nowrap" }, node.createdAt ? formatDateTime(node.createdAt) : "—"),
      h("td", { class: "nowrap" }, node.updatedAt ? formatDateTime(node.updatedAt) : "—"),
    );
  }

  function render(details) {
    const connection = details[kind.connection];
    const filtered = state.search.trim() || Object.values(state.filters).some(Boolean);
    const first = state.page * state.first + 1;
    const [one, many] = kind.noun;
    offer(details.availableFilters);
    summary.textContent = `${formatInt(connection.totalCount)} ${connection.totalCount === 1 ? one : many} · ${kind.usageText(details.usage)} ${kind.usageLabel.toLowerCase()}${filtered ? " matching" : ""}`;
    pageLabel.textContent = connection.edges.length ? `${formatInt(first)}–${formatInt(first + connection.edges.length - 1)} of ${formatInt(connection.totalCount)}` : "";
    previous.disabled = state.page === 0;
    next.disabled = !connection.pageInfo.hasNextPage;
    if (connection.pageInfo.hasNextPage) state.cursors[state.page + 1] = connection.pageInfo.endCursor;
    if (!connection.edges.length) {
      holder.replaceChildren(emptyInline(filtered ? `No ${many} match these filters.` : kind.empty));
      return;
    }
    holder.replaceChildren(
      h(
        "table",
        { class: "data-table flows", "data-testid": id("table") },
        h("caption", { class: "visually-hidden" }, `${kind.title} of ${state.org.name}`),
        h("thead", {}, h("tr", {}, header("Name", "name"), header("Status", "status"), header("Tags"), header(kind.usageLabel, "usage", true), header("Created", "createdAt"), header("Updated", "updatedAt"))),
        h("tbody", {}, ...connection.edges.map(({ node }) => row(node, details.usage))),
      ),
    );
  }

  async function load() {
    controller?.abort();
    controller = new AbortController();
    const signal = AbortSignal.any([ctx.signal, controller.signal]);
    holder.setAttribute("aria-busy", "true");
    try {
      const answer = await ctx.client.request(kind.operationName, doc, variables(), { signal });
      render(answer.get(kind.field));
    } catch (error) {
      if (error.name === "AbortError") return;
      if (error instanceof Unauthorized) return ctx.fail(error);
      summary.textContent = "";
      pageLabel.textContent = "";
      if (error.code === "PERMISSION_DENIED") error.message = `${error.message}. The ${kind.title.toLowerCase()} table needs the super admin role in ${state.org.name}`;
      holder.replaceChildren(errorState(error, load));
    } finally {
      if (!signal.aborted) holder.removeAttribute("aria-busy");
    }
  }

  orgSelect.addEventListener("change", () => {
    state.org = orgs.find((o) => o.uuid === orgSelect.value);
    state.filters = {};
    onOrg(state.org);
    restart();
  });
  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      state.search = search.value;
      restart();
    }, 250);
  });
  for (const [name, select] of Object.entries(selects)) {
    select.addEventListener("change", () => {
      state.filters[name] = select.value;
      restart();
    });
  }
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

  const toolbar = h(
    "div",
    { class: "toolbar" },
    orgs.length > 1 ? labelled("Organization", orgSelect) : null,
    labelled("Search", search),
    ...FILTERS.map(([name, text]) => labelled(text, selects[name])),
    labelled("Rows per page", size),
  );
  onOrg(state.org);
  load();
  return card(
    { title: kind.title, subtitle: orgs.length > 1 ? "One organization at a time" : null, className: "table-card" },
    toolbar,
    summary,
    holder,
    h("nav", { class: "pager", "aria-label": `${kind.title} table pages` }, previous, pageLabel, next),
  );
}
