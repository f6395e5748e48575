// Building blocks shared by the tabs: cards, key figures, progress against an
// allowance, tables with CSV export, loading skeletons, empty and error states.

import { h, nextId } from "./dom.js";
import { downloadCsv } from "./csv.js";
import { formatPercent } from "./format.js";

export function card({ title, subtitle = null, actions = [], className = "" }, ...body) {
  const headingId = title ? nextId("card") : null;
  return h(
    "section",
    { class: `card ${className}`.trim(), "aria-labelledby": headingId },
    title
      ? h(
          "header",
          { class: "card-header" },
          h("div", {}, h("h2", { id: headingId }, title), subtitle ? h("p", { class: "muted small" }, subtitle) : null),
          actions.length ? h("div", { class: "card-actions" }, ...actions) : null,
        )
      : null,
    ...body,
  );
}

/** A progress bar of used/limit; ratio may exceed 1 (over the allowance). */
export function progress(ratio, label, { alarm = true } = {}) {
  const bar = h("div", { class: "progress-fill" });
  bar.style.width = `${Math.min(100, Math.max(0, ratio * 100))}%`;
  const level = !alarm ? "ok" : ratio > 1 ? "over" : ratio >= 0.8 ? "warn" : "ok";
  return h(
    "div",
    {
      class: `progress ${level}`,
      role: "progressbar",
      "aria-label": label,
      "aria-valuemin": 0,
      "aria-valuemax": 100,
      "aria-valuenow": Math.round(Math.min(100, ratio * 100)),
      "aria-valuetext": formatPercent(ratio),
    },
    bar,
  );
}

/**
 * A key figure: label, big value, optional usage-vs-allowance bar and detail lines.
 * usage: {ratio (or null when no allowance), usedText, limitText}
 */
export function kpi({ label, value, unit = null, usage = null, detail = null, testid = null, badge = null }) {
  const body = [
    h("p", { class: "kpi-label" }, label, badge),
    h("p", { class: "kpi-value", "data-testid": testid }, value, unit ? h("span", { class: "kpi-unit" }, ` ${unit}`) : null),
  ];
  if (usage) {
    if (usage.ratio === null) {
      body.push(h("p", { class: "kpi-detail muted" }, "No allowance set"));
    } else {
      body.push(progress(usage.ratio, `${label}: share of the allowance used`));
      body.push(
        h(
          "p",
          { class: "kpi-detail" },
          h("strong", {}, formatPercent(usage.ratio)),
          ` of ${usage.limitText} allowance`,
          usage.ratio > 1 ? h("span", { class: "badge danger" }, "Over") : null,
        ),
      );
    }
  }
  if (detail) body.push(h("p", { class: "kpi-detail muted" }, detail));
  return h("div", { class: "card kpi" }, ...body);
}

export function badge(text, tone = "neutral") {
  return h("span", { class: `badge ${tone}` }, text);
}

/** A value with a thin bar showing its share of the largest row. */
export function barCell(text, ratio) {
  const fill = h("span", { class: "cell-bar-fill" });
  fill.style.width = `${Math.max(0, Math.min(1, ratio)) * 100}%`;
  return h("div", { class: "cell-bar" }, h("span", { class: "cell-bar-value" }, text), h("span", { class: "cell-bar-track", "aria-hidden": "true" }, fill));
}

export function csvButton(label, filename, columns, rows) {
  return h(
    "button",
    {
      class: "button ghost small",
      type: "button",
      "aria-label": `Export ${label} as CSV`,
      onclick: () => downloadCsv(filename, columns, typeof rows === "function" ? rows() : rows),
    },
    "Export CSV",
  );
}

/**
 * A table in a card. columns: [{label, cell: row => node|text, csv: row => value,
 * numeric}]; a column without `cell` is only exported. Empty rows show the `empty`
 * message instead of a table.
 */
export function tableCard({ title, subtitle = null, columns, rows, empty, csvName, testid = null }) {
  const actions = rows.length && csvName ? [csvButton(title, csvName, columns, rows)] : [];
  const content = rows.length
    ? h("div", { class: "table-wrap" }, dataTable(columns, rows, { caption: title, testid }))
    : emptyInline(empty);
  return card({ title, subtitle, actions, className: "table-card" }, content);
}

export function dataTable(allColumns, rows, { caption = null, testid = null } = {}) {
  const columns = allColumns.filter((c) => c.cell);
  return h(
    "table",
    { class: "data-table", "data-testid": testid },
    caption ? h("caption", { class: "visually-hidden" }, caption) : null,
    h("thead", {}, h("tr", {}, ...columns.map((c) => h("th", { scope: "col", class: c.numeric ? "num" : "" }, c.label)))),
    h(
      "tbody",
      {},
      ...rows.map((row) => h("tr", {}, ...columns.map((c) => h("td", { class: c.numeric ? "num" : "" }, c.cell(row))))),
    ),
  );
}

export function emptyInline(message) {
  return h("div", { class: "empty-inline" }, h("p", {}, message));
}

export function skeleton(layout = "default") {
  const block = (className) => h("div", { class: `card skeleton ${className}` });
  return h(
    "div",
    { class: "loading", "aria-busy": "true" },
    h("p", { class: "visually-hidden", role: "status" }, "Loading…"),
    h("div", { class: "kpi-grid" }, block("kpi-skeleton"), block("kpi-skeleton"), block("kpi-skeleton")),
    block("chart-skeleton"),
    layout === "tables" ? h("div", { class: "two-columns" }, block("table-skeleton"), block("table-skeleton")) : block("table-skeleton"),
  );
}

export function errorState(error, retry) {
  const extra = error.correlationId ? ` (reference ${error.correlationId})` : "";
  return h(
    "div",
    { class: "card error-state", role: "alert" },
    h("h2", {}, "Could not load these statistics"),
    h("p", {}, `${error.message}${extra}`),
    retry ? h("button", { class: "button", type: "button", onclick: retry }, "Retry") : null,
  );
}

export function notice(text, tone = "info") {
  return h("div", { class: `inline-notice ${tone}`, role: "note" }, text);
}
