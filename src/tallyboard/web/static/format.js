// Number and date formatting. Counts are integers shown in full with grouping
// (1,234,567); dates are UTC calendar dates, parsed from their text so the browser's
// time zone never shifts a day.

const integer = new Intl.NumberFormat("en-US");
const compact = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

export const PERIODS = [
  { value: "current_month", label: "This month" },
  { value: "last_month", label: "Last month" },
  { value: "last_3_months", label: "Last 3 months" },
];

export const formatInt = (n) => integer.format(n);
export const formatCompact = (n) => compact.format(n);

/** "62.4%" of part/whole; null when there is no whole. */
export function formatPercent(ratio) {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return null;
  const percent = ratio * 100;
  if (percent > 0 && percent < 0.1) return "<0.1%";
  return `${percent.toFixed(percent >= 100 || percent === 0 ? 0 : 1)}%`;
}

function parts(text) {
  const [year, month, day] = text.slice(0, 10).split("-").map(Number);
  return { year, month, day };
}

/** "YYYY-MM-DD" -> "3 Nov 2026" (or "3 Nov" with short). */
export function formatDay(text, { short = false, weekday = false } = {}) {
  const { year, month, day } = parts(text);
  const dayName = weekday ? `${WEEKDAYS[new Date(Date.UTC(year, month - 1, day)).getUTCDay()]} ` : "";
  return short ? `${dayName}${day} ${MONTHS[month - 1]}` : `${dayName}${day} ${MONTHS[month - 1]} ${year}`;
}

/** "YYYY-MM" -> "Nov 2026". */
export function formatMonth(text, { short = false } = {}) {
  const { year, month } = parts(`${text}-01`);
  return short ? MONTHS[month - 1] : `${MONTHS[month - 1]} ${year}`;
}

export function isWeekend(text) {
  const { year, month, day } = parts(text);
  const weekday = new Date(Date.UTC(year, month - 1, day)).getUTCDay();
  return weekday === 0 || weekday === 6;
}

/** A filterDate {from, to} -> "1 Nov – 30 Nov 2026". */
export function formatRange(filterDate) {
  const from = parts(filterDate.from);
  const to = parts(filterDate.to);
  const fromText = formatDay(filterDate.from, { short: from.year === to.year });
  return `${fromText} – ${formatDay(filterDate.to)}`;
}

/** "2026-11-21T10:15:00Z" -> "21 Nov 2026, 10:15 UTC". */
export function formatDateTime(text) {
  if (!text) return null;
  return `${formatDay(text)}, ${text.slice(11, 16)} UTC`;
}

export function periodLabel(value) {
  return PERIODS.find((p) => p.value === value)?.label ?? value;
}
