// The AI credits tab: usage against the limit, the automation/assistants split, free
// credits, the add-on, top agents and (several organizations) a row per organization.
//
// aiCreditUsageStats (free credits, computed now) is for super admins only; the
// combined query needs only the usage statistics permission. Organizations where the
// details are refused still show everything the combined query answers, with a note.

import { h } from "./dom.js";
import { donut } from "./chart.js";
import { slug } from "./csv.js";
import { combinedChunks, perOrganization } from "./graphql.js";
import { creditsCsv, formatCredits, microRatio, microText, sumMicro, toMicro } from "./credits.js";
import { formatDateTime, formatPercent } from "./format.js";
import { badge, barCell, kpi, notice, progress, tableCard } from "./ui.js";
import { loadAllowanceStatus, withAllowanceNotes } from "./allowance.js";
import { AGENTS, createUsageTable } from "./usage-table.js";

const DETAILS = "{ active usage limit hasAddon updatedAt aiAutomation { usage enabled } assistants { usage enabled } freeAiCredit { limit usage } filterDate { from to } }";

const COMBINED = `query DashboardAiCredits($orgs: [ID!]!, $period: PeriodFilter!) {
  aiCreditUsageStatsCombined(organizationUuids: $orgs, period: $period) {
    total { usage limit aiAutomationUsage assistantsUsage }
    byOrganization { organizationUuid organizationName usage limit hasAddon aiAutomation { usage enabled } assistants { usage enabled } }
    topAgents { agentId agentName organizationUuid organizationName creditsProcessed }
    filterDate { from to }
    partial
  }
}`;

function sumOptional(values) {
  const present = values.filter((v) => v !== null);
  return present.length ? sumMicro(present) : null;
}

function topAgents(agents) {
  const byText = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
  return agents
    .map((a) => ({ ...a, micro: toMicro(a.creditsProcessed) }))
    .sort((a, b) => (b.micro > a.micro ? 1 : b.micro < a.micro ? -1 : 0) || byText(a.agentId, b.agentId) || byText(a.organizationUuid, b.organizationUuid))
    .slice(0, 10);
}

async function load(ctx) {
  const uuids = ctx.orgs.map((o) => o.uuid);
  const [chunks, details] = await Promise.all([
    combinedChunks(ctx.client, {
      operationName: "DashboardAiCredits",
      query: COMBINED,
      field: "aiCreditUsageStatsCombined",
      uuids,
      period: ctx.period,
      signal: ctx.signal,
    }),
    perOrganization(ctx.client, {
      operationName: "DashboardAiCreditDetails",
      field: "aiCreditUsageStats",
      selection: DETAILS,
      uuids,
      period: ctx.period,
      signal: ctx.signal,
    }),
  ]);
  const rows = chunks.flatMap((c) => c.byOrganization).map((row) => {
    const detail = details.get(row.organizationUuid);
    const free = detail?.value?.freeAiCredit ?? null;
    return {
      ...row,
      usageMicro: toMicro(row.usage),
      limitMicro: toMicro(row.limit),
      details: detail?.value ?? null,
      free: free ? { limit: toMicro(free.limit), usage: toMicro(free.usage) } : null,
    };
  });
  const allowed = rows.filter((r) => r.details);
  return {
    filterDate: chunks[0].filterDate,
    usage: sumMicro(chunks.map((c) => toMicro(c.total.usage))),
    limit: sumOptional(chunks.map((c) => toMicro(c.total.limit))),
    automation: sumMicro(chunks.map((c) => toMicro(c.total.aiAutomationUsage))),
    assistants: sumMicro(chunks.map((c) => toMicro(c.total.assistantsUsage))),
    automationEnabled: rows.some((r) => r.aiAutomation.enabled),
    assistantsEnabled: rows.some((r) => r.assistants.enabled),
    addons: rows.filter((r) => r.hasAddon).length,
    rows,
    denied: rows.filter((r) => !r.details).map((r) => r.organizationName),
    free: allowed.some((r) => r.free)
      ? { limit: sumMicro(allowed.map((r) => r.free?.limit)), usage: sumMicro(allowed.map((r) => r.free?.usage)) }
      : null,
    updatedAt: allowed.length === 1 && rows.length === 1 ? allowed[0].details.updatedAt : null,
    agents: topAgents(chunks.flatMap((c) => c.topAgents)),
    partial: chunks.some((c) => c.partial),
  };
}

function usageCard(model, multi) {
  const limitRatio = model.limit === null ? null : microRatio(model.usage, model.limit) ?? (model.usage > 0n ? Infinity : 0);
  const addon = multi
    ? `${model.addons} of ${model.rows.length} organizations have the AI credit add-on`
    : model.addons
      ? "AI credit add-on active"
      : "No AI credit add-on";
  const active = model.automationEnabled || model.assistantsEnabled;
  return kpi({
    label: "AI credits used",
    value: microText(model.usage),
    testid: "ai-total",
    badge: badge(active ? "Active" : "Inactive", active ? "success" : "neutral"),
    usage: { ratio: limitRatio, limitText: model.limit === null ? "" : microText(model.limit) },
    detail: [addon, model.updatedAt ? ` · computed ${formatDateTime(model.updatedAt)}` : ""].join(""),
  });
}

function splitCard(model) {
  const total = model.usage;
  const share = (part) => (total === 0n ? 0 : microRatio(part, total));
  const legendItem = (className, label, micro, enabled, testid) =>
    h(
      "li",
      {},
      h("span", { class: `swatch ${className}`, "aria-hidden": "true" }),
      h("span", { class: "legend-label" }, label, " ", badge(enabled ? "Enabled" : "Disabled", enabled ? "success" : "neutral")),
      h("span", { class: "legend-value", "data-testid": testid }, microText(micro)),
      h("span", { class: "muted small" }, total === 0n ? "" : formatPercent(share(micro))),
    );
  return h(
    "div",
    { class: "card split-card" },
    h("p", { class: "kpi-label" }, "Automation vs assistants"),
    h(
      "div",
      { class: "split" },
      donut(
        [
          { ratio: share(model.automation), className: "automation" },
          { ratio: share(model.assistants), className: "assistants" },
        ],
        {
          ariaLabel: `AI automation ${microText(model.automation)} credits, assistants ${microText(model.assistants)} credits`,
          centerTop: total === 0n ? "0" : formatPercent(share(model.automation)),
          centerBottom: "automation",
        },
      ),
      h(
        "ul",
        { class: "legend" },
        legendItem("automation", "AI automation", model.automation, model.automationEnabled, "ai-automation"),
        legendItem("assistants", "Assistants", model.assistants, model.assistantsEnabled, "ai-assistants"),
      ),
    ),
  );
}

function freeCard(model, multi) {
  const body = [h("p", { class: "kpi-label" }, "Free AI credits")];
  if (model.rows.length && model.denied.length === model.rows.length) {
    body.push(
      h("p", { class: "kpi-value muted" }, "—"),
      h("p", { class: "kpi-detail muted" }, "Shown to super admins only"),
    );
  } else if (!model.free) {
    body.push(h("p", { class: "kpi-value" }, "None"), h("p", { class: "kpi-detail muted" }, "No free monthly allotment"));
  } else {
    const ratio = microRatio(model.free.usage, model.free.limit) ?? 0;
    body.push(
      h("p", { class: "kpi-value", "data-testid": "ai-free-usage" }, microText(model.free.usage)),
      progress(ratio, "Free AI credits used", { alarm: false }),
      h(
        "p",
        { class: "kpi-detail" },
        ratio >= 1 ? "All " : h("strong", {}, formatPercent(ratio)),
        ratio >= 1 ? `${microText(model.free.limit)} free credits used` : ` of ${microText(model.free.limit)} free credits`,
      ),
    );
    if (multi && model.denied.length) {
      body.push(h("p", { class: "kpi-detail muted" }, `Not included: ${model.denied.join(", ")} (super admins only)`));
    }
  }
  return h("div", { class: "card kpi" }, ...body);
}

export async function loadAiTab(ctx) {
  const [model, status] = await Promise.all([load(ctx), loadAllowanceStatus(ctx)]);
  ctx.setRange(model.filterDate);
  const multi = ctx.orgs.length > 1;
  const base = `tallyboard-${multi ? `${ctx.orgs.length}-organizations` : slug(ctx.orgs[0].name)}-${ctx.period}`;
  const content = [];
  if (model.partial) {
    content.push(notice("Some organizations were left out: you no longer have the usage statistics permission there.", "warn"));
  }
  if (model.denied.length && !multi) {
    content.push(
      notice(
        `Free AI credits are shown to super admins only. Your role in ${model.denied[0]} shows the totals, the split and the top agents.`,
        "info",
      ),
    );
  }
  content.push(h("div", { class: "kpi-grid" }, withAllowanceNotes(usageCard(model, multi), status, "aiCredits"), splitCard(model), freeCard(model, multi)));

  const maxAgent = model.agents.length ? model.agents[0].micro : 1n;
  const agentColumns = [
    {
      label: "Agent",
      cell: (a) =>
        a.agentName === null
          ? h("span", {}, h("span", { class: "muted" }, "Deleted agent"), h("span", { class: "agent-id" }, a.agentId))
          : h("span", {}, a.agentName, h("span", { class: "agent-id" }, a.agentId)),
      csv: (a) => a.agentName ?? "",
    },
    { label: "Agent ID", csv: (a) => a.agentId },
    ...(multi ? [{ label: "Organization", cell: (a) => a.organizationName, csv: (a) => a.organizationName }] : []),
    {
      label: "Credits",
      numeric: true,
      cell: (a) => barCell(formatCredits(a.creditsProcessed), microRatio(a.micro, maxAgent === 0n ? 1n : maxAgent)),
      csv: (a) => creditsCsv(a.creditsProcessed),
    },
  ];
  const tables = [
    tableCard({
      title: "Top agents",
      subtitle: "AI automation only; assistants are not agents",
      columns: agentColumns,
      rows: model.agents,
      empty: "No AI agent used credits in this period.",
      csvName: `${base}-top-agents.csv`,
      testid: "top-agents",
    }),
  ];

  if (multi) {
    const maxUsage = model.rows.reduce((m, r) => (r.usageMicro > m ? r.usageMicro : m), 1n);
    const columns = [
      { label: "Organization", cell: (r) => r.organizationName, csv: (r) => r.organizationName },
      { label: "Credits", numeric: true, cell: (r) => barCell(microText(r.usageMicro), microRatio(r.usageMicro, maxUsage)), csv: (r) => microText(r.usageMicro, { grouping: false }) },
      { label: "Limit", numeric: true, cell: (r) => (r.limitMicro === null ? "Not set" : microText(r.limitMicro)), csv: (r) => (r.limitMicro === null ? "" : microText(r.limitMicro, { grouping: false })) },
      { label: "Automation", numeric: true, cell: (r) => formatCredits(r.aiAutomation.usage), csv: (r) => creditsCsv(r.aiAutomation.usage) },
      { label: "Assistants", numeric: true, cell: (r) => formatCredits(r.assistants.usage), csv: (r) => creditsCsv(r.assistants.usage) },
      { label: "Add-on", cell: (r) => (r.hasAddon ? badge("Yes", "success") : badge("No", "neutral")), csv: (r) => (r.hasAddon ? "yes" : "no") },
      {
        label: "Free credits used",
        numeric: true,
        cell: (r) => (r.details ? (r.free ? `${microText(r.free.usage)} of ${microText(r.free.limit)}` : "None") : h("span", { class: "muted", title: "Shown to super admins only" }, "Super admins only")),
        csv: (r) => (r.free ? microText(r.free.usage, { grouping: false }) : ""),
      },
    ];
    tables.push(
      tableCard({
        title: "By organization",
        columns,
        rows: model.rows,
        empty: "No organizations.",
        csvName: `${base}-ai-credits-by-organization.csv`,
        testid: "ai-by-organization",
      }),
    );
  }
  content.push(...tables);
  const kept = new Set(model.rows.map((r) => r.organizationUuid));
  const orgs = ctx.orgs.filter((o) => kept.has(o.uuid));
  if (orgs.length) content.push(createUsageTable(ctx, orgs, model.filterDate, AGENTS));
  if (multi) content.push(h("p", { class: "muted small footnote" }, "Combined figures are cached for up to a minute."));
  return content;
}
