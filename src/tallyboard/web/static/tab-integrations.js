// The Integrations tab: tasks against the allowance, the task history with the
// allowance line, active flows, and the flow table (search, status filter, sorting and
// cursor paging through integrationsUsageDetails).
//
// There is no combined integrations query. With several organizations the figures and
// the history are the sums of one integrationsUsageStats per organization (allowances
// summed like the combined queries do: unset counts as 0, all unset stays unset), a
// table compares the organizations, and the flow table shows one organization at a
// time, chosen next to it: flows belong to one organization and page with its cursors.

import { h } from "./dom.js";
import { barChart } from "./chart.js";
import { slug } from "./csv.js";
import { perOrganization, sumLimits } from "./graphql.js";
import { formatDay, formatInt, formatMonth, formatRange } from "./format.js";
import { barCell, card, csvButton, dataTable, emptyInline, kpi, notice, tableCard } from "./ui.js";
import { createFlowTable } from "./flow-table.js";
import { loadAllowanceStatus, withAllowanceNotes } from "./allowance.js";

const STATS = "{ tasksConsumed { usage limit } activeFlows filterDate { from to } history { nodes { date usage limit } } }";

function mergeHistory(histories) {
  const buckets = new Map();
  for (const nodes of histories) {
    for (const node of nodes) {
      const bucket = buckets.get(node.date) ?? { date: node.date, usage: 0, limits: [] };
      bucket.usage += node.usage;
      bucket.limits.push(node.limit);
      buckets.set(node.date, bucket);
    }
  }
  return [...buckets.values()]
    .sort((a, b) => (a.date < b.date ? -1 : 1))
    .map((b) => ({ date: b.date, usage: b.usage, limit: sumLimits(b.limits) }));
}

function ratio(usage, limit) {
  if (limit === null) return null;
  if (limit === 0) return usage > 0 ? Infinity : 0;
  return usage / limit;
}

function historyCard(model, range, base) {
  const monthly = model.history.length > 0 && model.history[0].date.length === 7;
  const label = (date) => (monthly ? formatMonth(date) : formatDay(date, { weekday: true }));
  const limitText = (limit) => (limit === null ? "no allowance" : `allowance ${formatInt(limit)}`);
  const holder = h("div", { class: "chart-holder" });
  let mode = monthly ? "bars" : "cumulative";

  function draw() {
    if (model.usage === 0) {
      holder.replaceChildren(emptyInline("No integration tasks in this period yet."));
      return;
    }
    let running = 0;
    const points = model.history.map((node) => {
      running += node.usage;
      const value = mode === "cumulative" ? running : node.usage;
      const showLine = mode !== "daily";
      return {
        label: monthly ? formatMonth(node.date, { short: true }) : formatDay(node.date, { short: true }),
        value,
        line: showLine ? node.limit : null,
        tooltip: [
          label(node.date),
          `${formatInt(node.usage)} tasks`,
          ...(mode === "cumulative" ? [`${formatInt(running)} so far this month`] : []),
          ...(showLine ? [limitText(node.limit)] : []),
        ],
      };
    });
    const lastLimit = [...model.history].reverse().find((n) => n.limit !== null)?.limit ?? null;
    holder.replaceChildren(
      barChart({
        points,
        kind: mode === "cumulative" ? "area" : "bars",
        lineLabel: mode !== "daily" && lastLimit !== null ? `Allowance ${formatInt(lastLimit)}` : null,
        ariaLabel:
          `Integration tasks ${mode === "cumulative" ? "accumulated per day" : monthly ? "per month" : "per day"}, ` +
          `${range} (UTC): ${formatInt(model.usage)} in total` +
          (model.limit === null ? ", no allowance set" : ` against an allowance of ${formatInt(model.limit)}`),
      }),
    );
  }

  const actions = [];
  if (!monthly) {
    const group = h("div", { class: "segmented small", role: "group", "aria-label": "History view" });
    for (const [value, text] of [["cumulative", "Cumulative"], ["daily", "Per day"]]) {
      group.append(
        h(
          "button",
          {
            type: "button",
            "aria-pressed": String(value === mode),
            onclick: (event) => {
              mode = value;
              for (const b of group.querySelectorAll("button")) b.setAttribute("aria-pressed", String(b === event.currentTarget));
              draw();
            },
          },
          text,
        ),
      );
    }
    actions.push(group);
  }
  const columns = [
    { label: monthly ? "Month" : "Date", cell: (n) => label(n.date), csv: (n) => n.date },
    { label: "Tasks", numeric: true, cell: (n) => formatInt(n.usage), csv: (n) => n.usage },
    { label: "Monthly allowance", numeric: true, cell: (n) => (n.limit === null ? "Not set" : formatInt(n.limit)), csv: (n) => n.limit ?? "" },
  ];
  actions.push(csvButton("task history", `${base}-task-history.csv`, columns, model.history));
  draw();
  return card(
    {
      title: monthly ? "Tasks per month" : "Task history",
      subtitle: `${range} (UTC) · dashed line: allowance`,
      actions,
      className: "chart-card",
    },
    holder,
    h("details", { class: "data-details" }, h("summary", {}, "Show as table"), h("div", { class: "table-wrap" }, dataTable(columns, model.history))),
  );
}

export async function loadIntegrationsTab(ctx) {
  const uuids = ctx.orgs.map((o) => o.uuid);
  const [results, status] = await Promise.all([perOrganization(ctx.client, {
    operationName: "DashboardIntegrations",
    field: "integrationsUsageStats",
    selection: STATS,
    uuids,
    period: ctx.period,
    signal: ctx.signal,
  }), loadAllowanceStatus(ctx)]);
  const rows = ctx.orgs.filter((o) => results.get(o.uuid).value).map((o) => ({ org: o, stats: results.get(o.uuid).value }));
  if (!rows.length) throw results.get(uuids[0]).error;
  const model = {
    filterDate: rows[0].stats.filterDate,
    usage: rows.reduce((sum, r) => sum + r.stats.tasksConsumed.usage, 0),
    limit: sumLimits(rows.map((r) => r.stats.tasksConsumed.limit)),
    activeFlows: rows.reduce((sum, r) => sum + r.stats.activeFlows, 0),
    history: mergeHistory(rows.map((r) => r.stats.history.nodes)),
  };
  ctx.setRange(model.filterDate);
  const multi = ctx.orgs.length > 1;
  const base = `tallyboard-${multi ? `${ctx.orgs.length}-organizations` : slug(ctx.orgs[0].name)}-${ctx.period}`;
  const range = formatRange(model.filterDate);
  const left = model.limit === null ? null : model.limit - model.usage;

  const content = [];
  if (rows.length < ctx.orgs.length) {
    content.push(notice("Some organizations were left out: you no longer have the usage statistics permission there.", "warn"));
  }
  content.push(
    h(
      "div",
      { class: "kpi-grid" },
      withAllowanceNotes(kpi({
        label: "Tasks consumed",
        value: formatInt(model.usage),
        testid: "tasks-total",
        usage: { ratio: ratio(model.usage, model.limit), limitText: model.limit === null ? "" : formatInt(model.limit) },
      }), status, "integrationTasks"),
      kpi({
        label: "Active flows",
        value: formatInt(model.activeFlows),
        testid: "active-flows",
        detail: "flows that ran at least once in this period",
      }),
      kpi({
        label: left !== null && left < 0 ? "Over the allowance by" : "Allowance left",
        value: left === null ? "—" : formatInt(Math.abs(left)),
        detail: left === null ? "No allowance set" : `of ${formatInt(model.limit)} tasks`,
      }),
    ),
    historyCard(model, range, base),
  );

  if (multi) {
    const max = Math.max(1, ...rows.map((r) => r.stats.tasksConsumed.usage));
    const columns = [
      { label: "Organization", cell: (r) => r.org.name, csv: (r) => r.org.name },
      { label: "Tasks", numeric: true, cell: (r) => barCell(formatInt(r.stats.tasksConsumed.usage), r.stats.tasksConsumed.usage / max), csv: (r) => r.stats.tasksConsumed.usage },
      { label: "Allowance", numeric: true, cell: (r) => (r.stats.tasksConsumed.limit === null ? "Not set" : formatInt(r.stats.tasksConsumed.limit)), csv: (r) => r.stats.tasksConsumed.limit ?? "" },
      { label: "Active flows", numeric: true, cell: (r) => formatInt(r.stats.activeFlows), csv: (r) => r.stats.activeFlows },
    ];
    content.push(
      tableCard({
        title: "By organization",
        columns,
        rows,
        empty: "No organizations.",
        csvName: `${base}-tasks-by-organization.csv`,
        testid: "tasks-by-organization",
      }),
    );
  }
  content.push(createFlowTable(ctx, rows.map((r) => r.org)));
  return content;
}
