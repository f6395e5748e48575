// The Automations tab: jobs against the allowance (with the thresholds reached and the
// forecast), jobs per day, jobs by pipe, the top automations and the automation table.
//
// The figures come from automationsUsageDetailsCombined (usage statistics permission),
// in chunks of 25 organizations merged here with the server's orderings (by pipe: usage
// descending, then organization uuid, then pipe uuid, at most 50; top automations: usage
// descending, then organization uuid, then id, at most 10). The allowance is this
// month's (usageForecast), shown for one organization. Jobs per day and the table use
// automationsUsageDetails, one organization at a time (super admin role); the jobs
// export (jobs-export.js) follows the organization the table shows.

import { h } from "./dom.js";
import { slug } from "./csv.js";
import { combinedChunks } from "./graphql.js";
import { formatDateTime, formatInt } from "./format.js";
import { badge, barCell, kpi, notice, tableCard } from "./ui.js";
import { loadAllowanceStatus, withAllowanceNotes } from "./allowance.js";
import { createJobsPerDay } from "./jobs-per-day.js";
import { createJobsExport } from "./jobs-export.js";
import { AUTOMATIONS, createUsageTable } from "./usage-table.js";

const COMBINED = `query DashboardAutomationsCombined($orgs: [ID!]!, $period: PeriodFilter!) {
  automationsUsageDetailsCombined(organizationUuids: $orgs, period: $period) {
    total { usage }
    byOrganization { organizationUuid organizationName usage lastUpdatedAt }
    byPipe { pipe { uuid name color } organizationUuid organizationName usage lastUpdatedAt }
    topAutomations { id name usage action event status organizationUuid organizationName }
    filterDate { from to }
    partial
  }
}`;

const byText = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

async function load(ctx) {
  const [chunks, status] = await Promise.all([
    combinedChunks(ctx.client, {
      operationName: "DashboardAutomationsCombined",
      query: COMBINED,
      field: "automationsUsageDetailsCombined",
      uuids: ctx.orgs.map((o) => o.uuid),
      period: ctx.period,
      signal: ctx.signal,
    }),
    loadAllowanceStatus(ctx),
  ]);
  const allowance = ctx.period === "current_month" ? status?.forecast.resources.find((r) => r.resource === "automationJobs") ?? null : null;
  return {
    filterDate: chunks[0].filterDate,
    usage: chunks.reduce((sum, c) => sum + c.total.usage, 0),
    limit: allowance?.limit ?? null,
    status,
    byOrganization: chunks.flatMap((c) => c.byOrganization),
    byPipe: chunks
      .flatMap((c) => c.byPipe)
      .sort((a, b) => b.usage - a.usage || byText(a.organizationUuid, b.organizationUuid) || byText(a.pipe.uuid, b.pipe.uuid))
      .slice(0, 50),
    top: chunks
      .flatMap((c) => c.topAutomations)
      .sort((a, b) => b.usage - a.usage || byText(a.organizationUuid, b.organizationUuid) || byText(a.id, b.id))
      .slice(0, 10),
    partial: chunks.some((c) => c.partial),
  };
}

function figures(model, ctx) {
  const multi = ctx.orgs.length > 1;
  const known = ctx.orgs.length === 1 && ctx.period === "current_month";
  const ratio = model.limit === null ? null : model.limit === 0 ? (model.usage > 0 ? Infinity : 0) : model.usage / model.limit;
  const jobs = kpi({
    label: "Automation jobs",
    value: formatInt(model.usage),
    testid: "jobs-total",
    usage: known ? { ratio, limitText: model.limit === null ? "" : formatInt(model.limit) } : null,
    detail: known ? null : multi ? "Allowances are shown for one organization at a time" : "The allowance is shown for this month",
  });
  const active = model.byOrganization.reduce((sum, o) => sum + (o.usage > 0 ? 1 : 0), 0);
  const latest = model.byOrganization.map((o) => o.lastUpdatedAt).filter(Boolean).sort().at(-1) ?? null;
  return h(
    "div",
    { class: "kpi-grid" },
    withAllowanceNotes(jobs, model.status, "automationJobs"),
    kpi({
      label: "Pipes with jobs",
      value: formatInt(new Set(model.byPipe.map((p) => `${p.organizationUuid}/${p.pipe.uuid}`)).size),
      testid: "jobs-pipes",
      detail: multi ? `${formatInt(active)} of ${formatInt(model.byOrganization.length)} organizations ran automations` : "event pipes of the automations that ran",
    }),
    kpi({ label: "Latest job", value: latest ? formatDateTime(latest) : "—", testid: "jobs-latest", detail: latest ? "in this period" : "No jobs in this period yet" }),
  );
}

function tables(model, multi, base) {
  const orgColumn = multi ? [{ label: "Organization", cell: (r) => r.organizationName, csv: (r) => r.organizationName }] : [];
  const maxPipe = Math.max(1, ...model.byPipe.map((p) => p.usage));
  const maxTop = Math.max(1, ...model.top.map((a) => a.usage));
  const result = [
    tableCard({
      title: "Jobs by pipe",
      subtitle: "The pipe whose event fired the automation",
      columns: [
        { label: "Pipe", cell: (p) => p.pipe.name, csv: (p) => p.pipe.name },
        ...orgColumn,
        { label: "Jobs", numeric: true, cell: (p) => barCell(formatInt(p.usage), p.usage / maxPipe), csv: (p) => p.usage },
      ],
      rows: model.byPipe,
      empty: "No automation ran from a pipe in this period.",
      csvName: `${base}-jobs-by-pipe.csv`,
      testid: "jobs-by-pipe",
    }),
    tableCard({
      title: "Top automations",
      columns: [
        { label: "Automation", cell: (a) => h("span", {}, a.name, h("span", { class: "agent-id" }, a.id)), csv: (a) => a.name },
        { label: "Automation ID", csv: (a) => a.id },
        ...orgColumn,
        { label: "Status", cell: (a) => badge(a.status, a.status.toLowerCase() === "active" ? "success" : "neutral"), csv: (a) => a.status },
        { label: "Jobs", numeric: true, cell: (a) => barCell(formatInt(a.usage), a.usage / maxTop), csv: (a) => a.usage },
      ],
      rows: model.top,
      empty: "No automation ran in this period.",
      csvName: `${base}-top-automations.csv`,
      testid: "top-automations",
    }),
  ];
  if (multi) {
    const max = Math.max(1, ...model.byOrganization.map((o) => o.usage));
    result.push(
      tableCard({
        title: "By organization",
        columns: [
          { label: "Organization", cell: (o) => o.organizationName, csv: (o) => o.organizationName },
          { label: "Jobs", numeric: true, cell: (o) => barCell(formatInt(o.usage), o.usage / max), csv: (o) => o.usage },
          { label: "Latest job", cell: (o) => formatDateTime(o.lastUpdatedAt) ?? "—", csv: (o) => o.lastUpdatedAt ?? "" },
        ],
        rows: model.byOrganization,
        empty: "No organizations.",
        csvName: `${base}-jobs-by-organization.csv`,
        testid: "jobs-by-organization",
      }),
    );
  }
  return result;
}

export async function loadAutomationsTab(ctx) {
  const model = await load(ctx);
  ctx.setRange(model.filterDate);
  const multi = ctx.orgs.length > 1;
  const base = `tallyboard-${multi ? `${ctx.orgs.length}-organizations` : slug(ctx.orgs[0].name)}-${ctx.period}`;
  const content = [];
  if (model.partial) {
    content.push(notice("Some organizations were left out: you no longer have the usage statistics permission there.", "warn"));
  }
  const kept = new Set(model.byOrganization.map((o) => o.organizationUuid));
  const orgs = ctx.orgs.filter((o) => kept.has(o.uuid));
  const jobsExport = createJobsExport(ctx);
  const perDay = createJobsPerDay(ctx, model.filterDate, { actions: [jobsExport.element] });
  const showOrg = (org) => {
    perDay.show(org);
    jobsExport.show(org);
  };
  content.push(figures(model, ctx), perDay.element, h("div", { class: "two-columns" }, ...tables(model, multi, base)));
  if (orgs.length) content.push(createUsageTable(ctx, orgs, model.filterDate, AUTOMATIONS, { onOrg: showOrg }));
  if (multi) content.push(h("p", { class: "muted small footnote" }, "Combined figures are cached for up to a minute."));
  return content;
}
