// Exact AI-credit arithmetic in the browser. The server sends credits as JSON numbers
// whose shortest decimal form is exact (at most 6 decimal places), so String(value) is
// that decimal. Sums across requests are kept as BigInt micro-credits and printed
// from their digits: 0.1 + 0.2 shows as 0.3, and 123456789.000001 keeps its last digit.

const MICRO = 1000000n;
const grouped = new Intl.NumberFormat("en-US");

/** Micro-credits (BigInt) of a credits value from the API. */
export function toMicro(value) {
  if (value === null || value === undefined) return null;
  const text = String(value);
  if (/e/i.test(text)) return BigInt(Math.round(value * 1e6));
  const negative = text.startsWith("-");
  const [whole, fraction = ""] = text.replace("-", "").split(".");
  let micro = BigInt(whole) * MICRO + BigInt((fraction + "000000").slice(0, 6));
  if (fraction.length > 6 && Number(fraction[6]) >= 5) micro += 1n;
  return negative ? -micro : micro;
}

/** Decimal text of micro-credits; grouped ("1,234.5") for display, plain for CSV. */
export function microText(micro, { grouping = true } = {}) {
  if (micro === null || micro === undefined) return "";
  const negative = micro < 0n;
  const magnitude = negative ? -micro : micro;
  const whole = magnitude / MICRO;
  const fraction = (magnitude % MICRO).toString().padStart(6, "0").replace(/0+$/, "");
  const wholeText = grouping ? grouped.format(whole) : whole.toString();
  return `${negative ? "-" : ""}${wholeText}${fraction ? `.${fraction}` : ""}`;
}

export const formatCredits = (value) => microText(toMicro(value));
export const creditsCsv = (value) => microText(toMicro(value), { grouping: false });

export function sumMicro(values) {
  let total = 0n;
  for (const value of values) total += value ?? 0n;
  return total;
}

/** A share (0..1) of two micro amounts, as a float for bars and percentages. */
export function microRatio(part, whole) {
  if (whole === null || whole === 0n) return null;
  return Number((part * 1000000n) / whole) / 1000000;
}
