// CSV export (RFC 4180): fields holding a comma, quote or line break are quoted, quotes
// are doubled, lines end in CRLF. Text cells that a spreadsheet would run as a formula
// (=, +, -, @ first) get a leading apostrophe; numeric columns are written as they are.

import { h } from "./dom.js";

const FORMULA = /^[=+\-@\t\r]/;

function field(value, numeric) {
  let text = value === null || value === undefined ? "" : String(value);
  if (!numeric && FORMULA.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** columns: [{label, csv: row => value, numeric}] */
export function toCsv(columns, rows) {
  const lines = [columns.map((c) => field(c.label, false)).join(",")];
  for (const row of rows) {
    lines.push(columns.map((c) => field(c.csv(row), c.numeric)).join(","));
  }
  return `${lines.join("\r\n")}\r\n`;
}

export function slug(text) {
  return String(text)
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
}

export function downloadCsv(filename, columns, rows) {
  const blob = new Blob(["\ufeff", toCsv(columns, rows)], { type: "text/csv;charset=utf-8" });
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
