// Hand-written SVG charts, drawn at the container's real width (and redrawn when it
// changes) so labels stay crisp from a phone to a wide screen. Every chart has an
// accessible name and its data is also offered as a table (see ui.js chartCard).

import { h, s } from "./dom.js";
import { formatCompact } from "./format.js";

function niceStep(raw) {
  if (raw <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) {
    if (m * magnitude >= raw) return m * magnitude;
  }
  return 10 * magnitude;
}

function niceScale(maxValue, ticks = 4) {
  const step = Math.max(1, niceStep(maxValue / ticks));
  return { max: step * ticks, step };
}

/**
 * A bar (or area) chart with an optional step line (an allowance).
 * points: [{label, value, line?, muted?, tooltip: [title, ...lines]}]
 */
export function barChart({ points, kind = "bars", ariaLabel, lineLabel = null, height = 220 }) {
  const root = h("div", { class: "chart" });
  const tooltip = h("div", { class: "chart-tooltip", role: "presentation", hidden: true });
  let lastWidth = 0;

  function draw(width) {
    if (width === lastWidth || width <= 0) return;
    lastWidth = width;
    const values = points.map((p) => p.value);
    const lineValues = points.map((p) => p.line).filter((v) => v !== null && v !== undefined);
    const { max, step } = niceScale(Math.max(1, ...values, ...lineValues));
    const yLabels = [];
    for (let v = 0; v <= max; v += step) yLabels.push(v);
    const left = 12 + Math.max(...yLabels.map((v) => formatCompact(v).length)) * 7;
    const margin = { top: 14, right: lineValues.length ? 14 : 8, bottom: 26, left };
    const plotWidth = Math.max(10, width - margin.left - margin.right);
    const plotHeight = height - margin.top - margin.bottom;
    const band = plotWidth / Math.max(1, points.length);
    const y = (v) => margin.top + plotHeight - (v / max) * plotHeight;
    const x = (i) => margin.left + i * band;

    const svg = s("svg", {
      width,
      height,
      viewBox: `0 0 ${width} ${height}`,
      role: "img",
      "aria-label": ariaLabel,
      class: "chart-svg",
    });
    const grid = s("g", { class: "grid" });
    for (const v of yLabels) {
      grid.append(
        s("line", { x1: margin.left, x2: width - margin.right, y1: y(v), y2: y(v) }),
        s("text", { x: margin.left - 8, y: y(v) + 4, class: "tick", "text-anchor": "end" }, formatCompact(v)),
      );
    }
    svg.append(grid);

    const marks = s("g", { class: "marks" });
    const barWidth = Math.max(1, band * (points.length > 45 ? 0.78 : 0.66));
    if (kind === "area") {
      const coords = points.map((p, i) => [x(i) + band / 2, y(p.value)]);
      if (coords.length) {
        const base = y(0);
        const line = coords.map(([cx, cy], i) => `${i ? "L" : "M"}${cx.toFixed(1)},${cy.toFixed(1)}`).join("");
        const first = coords[0];
        const last = coords[coords.length - 1];
        marks.append(
          s("path", { class: "area", d: `${line}L${last[0].toFixed(1)},${base}L${first[0].toFixed(1)},${base}Z` }),
          s("path", { class: "area-line", d: line }),
        );
      }
    } else {
      points.forEach((p, i) => {
        const top = y(p.value);
        marks.append(
          s("rect", {
            class: p.muted ? "bar muted" : "bar",
            x: (x(i) + (band - barWidth) / 2).toFixed(1),
            y: top.toFixed(1),
            width: barWidth.toFixed(1),
            height: Math.max(0, y(0) - top).toFixed(1),
            rx: Math.min(3, barWidth / 3).toFixed(1),
            "data-index": i,
          }),
        );
      });
    }
    svg.append(marks);

    if (lineValues.length) {
      let d = "";
      let open = false;
      points.forEach((p, i) => {
        if (p.line === null || p.line === undefined) {
          open = false;
          return;
        }
        const ly = y(p.line).toFixed(1);
        d += `${open ? "L" : "M"}${x(i).toFixed(1)},${ly}L${(x(i) + band).toFixed(1)},${ly}`;
        open = true;
      });
      svg.append(s("path", { class: "limit-line", d }));
      if (lineLabel) {
        const lastLine = [...points].reverse().find((p) => p.line !== null && p.line !== undefined);
        svg.append(
          s("text", { class: "limit-label", x: width - margin.right, y: y(lastLine.line) - 6, "text-anchor": "end" }, lineLabel),
        );
      }
    }

    const labelEvery = Math.max(1, Math.ceil((points.length * 58) / plotWidth));
    const axis = s("g", { class: "axis" });
    points.forEach((p, i) => {
      if (i % labelEvery !== 0) return;
      axis.append(s("text", { class: "tick", x: x(i) + band / 2, y: height - 8, "text-anchor": "middle" }, p.label));
    });
    svg.append(axis);

    const cursor = s("rect", { class: "cursor", x: 0, y: margin.top, width: band, height: plotHeight, visibility: "hidden" });
    svg.insertBefore(cursor, marks);
    svg.addEventListener("pointermove", (event) => {
      const box = svg.getBoundingClientRect();
      const index = Math.floor((event.clientX - box.left - margin.left) / band);
      if (index < 0 || index >= points.length) {
        cursor.setAttribute("visibility", "hidden");
        tooltip.hidden = true;
        return;
      }
      cursor.setAttribute("x", x(index));
      cursor.setAttribute("visibility", "visible");
      const [title, ...lines] = points[index].tooltip;
      tooltip.replaceChildren(h("strong", {}, title), ...lines.map((line) => h("span", {}, line)));
      tooltip.hidden = false;
      const tipX = Math.min(Math.max(x(index) + band / 2, 70), width - 70);
      tooltip.style.left = `${tipX}px`;
      tooltip.style.top = `${Math.max(0, y(points[index].value) - 8)}px`;
    });
    svg.addEventListener("pointerleave", () => {
      cursor.setAttribute("visibility", "hidden");
      tooltip.hidden = true;
    });
    root.replaceChildren(svg, tooltip);
  }

  const observer = new ResizeObserver((entries) => {
    if (!root.isConnected) {
      observer.disconnect();
      return;
    }
    for (const entry of entries) draw(Math.floor(entry.contentRect.width));
  });
  observer.observe(root);
  return root;
}

/** A donut of shares: segments [{ratio, className}]. */
export function donut(segments, { ariaLabel, centerTop, centerBottom }) {
  const svg = s("svg", { viewBox: "0 0 120 120", class: "donut", role: "img", "aria-label": ariaLabel });
  svg.append(s("circle", { class: "donut-track", cx: 60, cy: 60, r: 48, pathLength: 100 }));
  let offset = 0;
  for (const segment of segments) {
    const length = Math.max(0, Math.min(100, segment.ratio * 100));
    if (length > 0) {
      svg.append(
        s("circle", {
          class: `donut-segment ${segment.className}`,
          cx: 60,
          cy: 60,
          r: 48,
          pathLength: 100,
          "stroke-dasharray": `${length.toFixed(3)} ${(100 - length).toFixed(3)}`,
          "stroke-dashoffset": (-offset).toFixed(3),
          transform: "rotate(-90 60 60)",
        }),
      );
    }
    offset += length;
  }
  svg.append(
    s("text", { x: 60, y: 58, class: "donut-value", "text-anchor": "middle" }, centerTop),
    s("text", { x: 60, y: 75, class: "donut-caption", "text-anchor": "middle" }, centerBottom),
  );
  return svg;
}
