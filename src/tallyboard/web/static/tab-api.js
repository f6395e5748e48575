// The API calls tab: total against the allowance, calls per day, top operations and
// top tokens; with several organizations, the combined query plus a row per organization.

import { h } from "./dom.js";
import { barChart } from "./chart.js";
import { slug } from "./csv.js";
import { combinedChunks, perOrganization, sumLimits } from "./graphql.js";
import { formatDay, formatInt, formatRange, isWeekend } from "./format.js";
import { barCell, card, csvButton, dataTable, kpi, notice, tableCard } from "./ui.js";
import { loadAllowanceStatus, withAllowanceNotes } from "./allowance.js";

const SINGLE = `query DashboardApiUsage($org: ID!, $period: PeriodFilter!) {
  total: apiUsageStats(organizationUuid: $org, period: $period) { data { dimension metric } limit filterDate { from to } }
  operations: apiUsageStats(organizationUuid: $org, period: $period, dimension: operation_name) { data { dimension metric } }
  tokens: apiUsageStats(organizationUuid: $org, period: $period, dimension: token) { data { dimension metric } }
  daily: apiUsageStatsDaily(organizationUuid: $org, period: $period) { data { date metric } }
}`;

const COMBINED = `query DashboardApiUsageCombined($orgs: [ID!]!, $period: PeriodFilter!) {
  apiUsageStatsCombined(organizationUuids: $orgs, period: $period) {
    total { usage limit }
    byOrganization { organizationUuid organizationName usage limit }
    operations: topItems(dimension: operation_name) { dimension metric organizationUuid organizationName }
    tokens: topItems(dimension: token) { dimension metric organizationUuid organizationName }
    filterDate { from to }
    partial
  }
}`;

/** Top 10 (org, value) pairs across chunks: metric desc, then dimension, then org. */
function topTen(items) {
  const byText = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
  return [...items]
    .sort((a, b) => b.metric - a.metric || byText(a.dimension, b.dimension) || byText(a.organizationUuid, b.organizationUuid))
    .slice(0, 10);
}

function sumDaily(series) {
  const totals = new Map();
  for (const items of series) {
    for (const item of items) totals.set(item.date, (totals.get(item.date) ?? 0) + item.metric);
  }
  return [...totals.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([date, value]) => ({ date, value }));
}

async function loadSingle(ctx) {
  const org = ctx.orgs[0];
  const answer = await ctx.client.request("DashboardApiUsage", SINGLE, { org: org.uuid, period: ctx.period }, { signal: ctx.signal });
  const total = answer.get("total");
  return {
    filterDate: total.filterDate,
    usage: total.data[0]?.metric ?? 0,
    limit: total.limit,
    daily: [...answer.get("daily").data].reverse().map((d) => ({ date: d.date, value: d.metric })),
    operations: answer.get("operations").data,
    tokens: answer.get("tokens").data,
    byOrganization: null,
    partial: false,
  };
}

async function loadCombined(ctx) {
  const uuids = ctx.orgs.map((o) => o.uuid);
  const [chunks, daily] = await Promise.all([
    combinedChunks(ctx.client, {
      operationName: "DashboardApiUsageCombined",
      query: COMBINED,
      field: "apiUsageStatsCombined",
      uuids,
      period: ctx.period,
      signal: ctx.signal,
    }),
    perOrganization(ctx.client, {
      operationName: "DashboardApiDaily",
      field: "apiUsageStatsDaily",
      selection: "{ data { date metric } }",
      uuids,
      period: ctx.period,
      signal: ctx.signal,
    }),
  ]);
  const series = [...daily.values()].filter((r) => r.value).map((r) => r.value.data);
  return {
    filterDate: chunks[0].filterDate,
    usage: chunks.reduce((sum, c) => sum + c.total.usage, 0),
    limit: sumLimits(chunks.map((c) => c.total.limit)),
    daily: sumDaily(series),
    operations: topTen(chunks.flatMap((c) => c.operations)),
    tokens: topTen(chunks.flatMap((c) => c.tokens)),
    byOrganization: chunks.flatMap((c) => c.byOrganization),
    partial: chunks.some((c) => c.partial),
  };
}

function topTable({ title, noun, items, multi, csvName, empty, testid }) {
  const max = Math.max(1, ...items.map((i) => i.metric));
  const columns = [
    { label: noun, cell: (r) => h("span", { class: "ellipsis", title: r.dimension }, r.dimension), csv: (r) => r.dimension },
    ...(multi ? [{ label: "Organization", cell: (r) => r.organizationName, csv: (r) => r.organizationName }] : []),
    { label: "Calls", numeric: true, cell: (r) => barCell(formatInt(r.metric), r.metric / max), csv: (r) => r.metric },
  ];
  return tableCard({ title, columns, rows: items, empty, csvName, testid });
}

export async function loadApiTab(ctx) {
  const multi = ctx.orgs.length > 1;
  const [model, status] = await Promise.all([multi ? loadCombined(ctx) : loadSingle(ctx), loadAllowanceStatus(ctx)]);
  ctx.setRange(model.filterDate);
  const base = `tallyboard-${multi ? `${ctx.orgs.length}-organizations` : slug(ctx.orgs[0].name)}-${ctx.period}`;
  const days = model.daily.length;
  const busiest = model.daily.reduce((best, d) => (d.value > (best?.value ?? -1) ? d : best), null);
  const range = formatRange(model.filterDate);

  const figures = h(
    "div",
    { class: "kpi-grid" },
    withAllowanceNotes(kpi({
      label: "API calls",
      value: formatInt(model.usage),
      testid: "api-total",
      usage: {
        ratio: model.limit === null ? null : model.limit === 0 ? (model.usage > 0 ? Infinity : 0) : model.usage / model.limit,
        limitText: model.limit === null ? "" : formatInt(model.limit),
      },
    }), status, "apiCalls"),
    kpi({
      label: "Daily average",
      value: formatInt(days ? Math.round(model.usage / days) : 0),
      detail: `over ${formatInt(days)} day${days === 1 ? "" : "s"} so far`,
    }),
    kpi({
      label: "Busiest day",
      value: busiest && busiest.value > 0 ? formatInt(busiest.value) : "—",
      detail: busiest && busiest.value > 0 ? formatDay(busiest.date, { weekday: true }) : "No calls yet",
    }),
  );

  const dailyColumns = [
    { label: "Date", cell: (d) => formatDay(d.date, { weekday: true }), csv: (d) => d.date },
    { label: "Calls", numeric: true, cell: (d) => formatInt(d.value), csv: (d) => d.value },
  ];
  const chart = model.usage > 0
    ? barChart({
        points: model.daily.map((d) => ({
          label: formatDay(d.date, { short: true }),
          value: d.value,
          muted: isWeekend(d.date),
          tooltip: [formatDay(d.date, { weekday: true }), `${formatInt(d.value)} calls`],
        })),
        ariaLabel: `API calls per day, ${range} (UTC): ${formatInt(model.usage)} in total` +
          (busiest ? `, busiest ${formatDay(busiest.date)} with ${formatInt(busiest.value)}` : ""),
      })
    : h("div", { class: "empty-inline" }, h("p", {}, "No API calls in this period yet."));
  const chartCard = card(
    {
      title: "API calls per day",
      subtitle: `${range} (UTC) · weekends lighter`,
      actions: [csvButton("API calls per day", `${base}-api-calls-daily.csv`, dailyColumns, model.daily)],
      className: "chart-card",
    },
    chart,
    h("details", { class: "data-details" }, h("summary", {}, "Show as table"), h("div", { class: "table-wrap" }, dataTable(dailyColumns, [...model.daily].reverse()))),
  );

  const tops = h(
    "div",
    { class: "two-columns" },
    topTable({
      title: "Top operations",
      noun: "Operation",
      items: model.operations,
      multi,
      csvName: `${base}-top-operations.csv`,
      empty: "No operations in this period yet.",
      testid: "top-operations",
    }),
    topTable({
      title: "Top tokens",
      noun: "Token",
      items: model.tokens,
      multi,
      csvName: `${base}-top-tokens.csv`,
      empty: "No tokens have called the API in this period yet.",
      testid: "top-tokens",
    }),
  );

  const content = [figures, chartCard, tops];
  if (model.partial) {
    content.unshift(notice("Some organizations were left out: you no longer have the usage statistics permission there.", "warn"));
  }
  if (model.byOrganization) {
    const maxUsage = Math.max(1, ...model.byOrganization.map((r) => r.usage));
    const columns = [
      { label: "Organization", cell: (r) => r.organizationName, csv: (r) => r.organizationName },
      { label: "Calls", numeric: true, cell: (r) => barCell(formatInt(r.usage), r.usage / maxUsage), csv: (r) => r.usage },
      { label: "Allowance", numeric: true, cell: (r) => (r.limit === null ? "Not set" : formatInt(r.limit)), csv: (r) => r.limit ?? "" },
      {
        label: "Used",
        numeric: true,
        cell: (r) => h("span", { class: r.limit !== null && r.usage > r.limit ? "over" : "" }, usedText(r.usage, r.limit)),
        csv: (r) => usedText(r.usage, r.limit, ""),
      },
    ];
    content.push(
      tableCard({
        title: "By organization",
        columns,
        rows: model.byOrganization,
        empty: "No organizations.",
        csvName: `${base}-api-calls-by-organization.csv`,
        testid: "api-by-organization",
      }),
    );
  }
  return content;
}

function usedText(usage, limit, none = "—") {
  if (limit === null) return none;
  if (limit === 0) return usage > 0 ? "over" : "0%";
  return `${((usage / limit) * 100).toFixed(1)}%`;
}
