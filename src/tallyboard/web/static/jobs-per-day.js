// Jobs per day (per month for "Last 3 months") of one organization: one
// automationsUsageDetails per bucket, asking only `usage`, aliased b0..b9 in documents
// of at most 10 (the server allows 15 aliases per document). The query takes any whole
// days, so a bucket is a day (or a month) of the period's filterDate.

import { h } from "./dom.js";
import { barChart } from "./chart.js";
import { chunk, ORGS_PER_ALIASED_DOCUMENT, Unauthorized } from "./graphql.js";
import { formatDay, formatInt, formatMonth } from "./format.js";
import { card, dataTable, emptyInline, errorState } from "./ui.js";

const DAY_MS = 86_400_000;

/** The buckets of a filterDate: days, or months when it spans more than one month. */
export function buckets(filterDate) {
  const from = new Date(`${filterDate.from.slice(0, 10)}T00:00:00Z`);
  const to = new Date(`${filterDate.to.slice(0, 10)}T00:00:00Z`);
  const iso = (d) => d.toISOString().slice(0, 10);
  const result = [];
  if (filterDate.from.slice(0, 7) !== filterDate.to.slice(0, 7)) {
    for (let d = from; d <= to; d = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1))) {
      const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0));
      result.push({ key: iso(d).slice(0, 7), from: `${iso(d)}T00:00:00Z`, to: `${iso(last)}T23:59:59Z` });
    }
    return result;
  }
  for (let d = from; d <= to; d = new Date(d.getTime() + DAY_MS)) {
    result.push({ key: iso(d), from: `${iso(d)}T00:00:00Z`, to: `${iso(d)}T23:59:59Z` });
  }
  return result;
}

async function jobsPerBucket(ctx, org, list, signal) {
  const documents = chunk(list, ORGS_PER_ALIASED_DOCUMENT).map(async (group) => {
    const declarations = group.map((_, i) => `$b${i}: DateRange!`).join(", ");
    const fields = group.map((_, i) => `b${i}: automationsUsageDetails(organizationUuid: $org, filterDate: $b${i}) { usage }`).join("\n  ");
    const variables = { org: org.uuid };
    group.forEach((b, i) => {
      variables[`b${i}`] = { from: b.from, to: b.to };
    });
    const answer = await ctx.client.request("DashboardJobsPerDay", `query DashboardJobsPerDay($org: ID!, ${declarations}) {\n  ${fields}\n}`, variables, { signal });
    return group.map((b, i) => ({ date: b.key, usage: answer.get(`b${i}`).usage }));
  });
  return (await Promise.all(documents)).flat();
}

/** A card whose chart follows `show(org)`; only the latest request is drawn. */
export function createJobsPerDay(ctx, filterDate, { actions = [] } = {}) {
  const list = buckets(filterDate);
  const monthly = list.length > 0 && list[0].key.length === 7;
  const holder = h("div", { class: "chart-holder", "data-testid": "jobs-per-day" });
  const table = h("div", { class: "table-wrap" });
  const subtitle = h("p", { class: "muted small" });
  let controller = null;

  async function show(org) {
    controller?.abort();
    controller = new AbortController();
    const signal = AbortSignal.any([ctx.signal, controller.signal]);
    subtitle.textContent = org.name;
    holder.setAttribute("aria-busy", "true");
    try {
      const rows = await jobsPerBucket(ctx, org, list, signal);
      const label = (date) => (monthly ? formatMonth(date) : formatDay(date, { weekday: true }));
      const total = rows.reduce((sum, r) => sum + r.usage, 0);
      const columns = [
        { label: monthly ? "Month" : "Date", cell: (r) => label(r.date) },
        { label: "Jobs", numeric: true, cell: (r) => formatInt(r.usage) },
      ];
      table.replaceChildren(dataTable(columns, rows, { caption: "Automation jobs", testid: "jobs-per-day-table" }));
      holder.replaceChildren(
        total === 0
          ? emptyInline("No automation jobs in this period yet.")
          : barChart({
              points: rows.map((r) => ({
                label: monthly ? formatMonth(r.date, { short: true }) : formatDay(r.date, { short: true }),
                value: r.usage,
                tooltip: [label(r.date), `${formatInt(r.usage)} jobs`],
              })),
              ariaLabel: `Automation jobs of ${org.name} ${monthly ? "per month" : "per day"}: ${formatInt(total)} in total`,
            }),
      );
    } catch (error) {
      if (error.name === "AbortError") return;
      if (error instanceof Unauthorized) return ctx.fail(error);
      if (error.code === "PERMISSION_DENIED") error.message = `${error.message}. Jobs ${monthly ? "per month" : "per day"} need the super admin role in ${org.name}`;
      table.replaceChildren();
      holder.replaceChildren(errorState(error, () => show(org)));
    } finally {
      if (!signal.aborted) holder.removeAttribute("aria-busy");
    }
  }

  const element = card(
    { title: monthly ? "Jobs per month" : "Jobs per day", actions, className: "chart-card" },
    subtitle,
    holder,
    h("details", { class: "data-details" }, h("summary", {}, "Show as table"), table),
  );
  return { element, show };
}
