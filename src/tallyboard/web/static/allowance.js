// Beside each allowance: the thresholds reached (usageAlerts) and this month's
// straight-line forecast (usageForecast), as plain sentences.
//
// Both queries need only the usage statistics permission and take one organization,
// so the notes are shown when exactly one organization is selected. A failure here
// never breaks a tab: the figures stand on their own, the notes are extra.

import { h } from "./dom.js";
import { formatDay, formatMonth, formatPercent } from "./format.js";

const STATUS = `query DashboardAllowance($org: ID!, $period: PeriodFilter!) {
  usageForecast(organizationUuid: $org) { month resources { resource usage limit projectedUsage projectedExhaustionAt } }
  usageAlerts(organizationUuid: $org, period: $period) { id type resource month threshold createdAt }
}`;

/** {forecast, alerts} of the one selected organization, or null (several, or refused). */
export async function loadAllowanceStatus(ctx) {
  if (ctx.orgs.length !== 1) return null;
  try {
    const answer = await ctx.client.request("DashboardAllowance", STATUS, { org: ctx.orgs[0].uuid, period: ctx.period }, { signal: ctx.signal });
    return { forecast: answer.get("usageForecast"), alerts: answer.data.usageAlerts ?? [] };
  } catch (error) {
    if (error.name === "AbortError") throw error;
    return null;
  }
}

function lastDay(month) {
  const [year, m] = month.split("-").map(Number);
  const day = new Date(Date.UTC(year, m, 0)).getUTCDate();
  return `${month}-${String(day).padStart(2, "0")}`;
}

/** "on pace to use 130% by 30 Nov", or null when there is no allowance this month. */
export function forecastSentence(forecast, resource) {
  const row = forecast?.resources.find((r) => r.resource === resource);
  if (!row || row.limit === null) return null;
  const by = formatDay(lastDay(forecast.month), { short: true });
  if (row.limit > 0 && row.usage >= row.limit) return `Allowance used up this month: ${formatPercent(row.usage / row.limit)} used by ${by}`;
  if (row.projectedUsage === null || row.limit === 0) return `This month: not on pace to reach the allowance by ${by}`;
  return `This month: on pace to use ${formatPercent(row.projectedUsage / row.limit)} by ${by}`;
}

/** "Reached 80%, 100% in Nov 2026" per month of the period, newest month first. */
export function thresholdSentences(alerts, resource) {
  const months = new Map();
  for (const alert of alerts) {
    if (alert.resource !== resource || alert.type !== "usage.threshold_crossed" || alert.threshold === null) continue;
    months.set(alert.month, [...(months.get(alert.month) ?? []), alert.threshold]);
  }
  return [...months.entries()]
    .sort((a, b) => (a[0] < b[0] ? 1 : -1))
    .map(([month, thresholds]) => `Reached ${[...new Set(thresholds)].sort((a, b) => a - b).map((t) => `${t}%`).join(", ")} in ${formatMonth(month)}`);
}

/** The notes for one resource's allowance card (null when there is nothing to say). */
export function allowanceNotes(status, resource) {
  if (!status) return null;
  const lines = [...thresholdSentences(status.alerts, resource)];
  const forecast = forecastSentence(status.forecast, resource);
  if (forecast) lines.push(forecast);
  if (!lines.length) return null;
  return h(
    "ul",
    { class: "allowance-notes", "data-testid": `allowance-${resource}` },
    ...lines.map((line) => h("li", {}, line)),
  );
}

/** Append the notes to a key-figure card (returns the card). */
export function withAllowanceNotes(card, status, resource) {
  const notes = allowanceNotes(status, resource);
  if (notes) card.append(notes);
  return card;
}
