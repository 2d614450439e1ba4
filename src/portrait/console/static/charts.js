// ECharts (vendored under vendor/, loaded by index.html as the global `echarts`) behind a few
// helpers: bar charts for distributions, histograms, TGI bars and segment-vs-base comparisons.

import { fmtNum, fmtPct } from "./dom.js";

const live = new Set();
const PALETTE = ["#3b6fd8", "#f0a030", "#3aa76d", "#d9534f", "#8e6cc9", "#4bb3c6"];

function init(el, height) {
  el.style.height = `${height}px`;
  el.classList.add("chart");
  const chart = window.echarts.init(el, null, { renderer: "canvas" });
  live.add(chart);
  return chart;
}

/** Dispose every chart (called when the page changes). */
export function disposeAll() {
  for (const c of live) c.dispose();
  live.clear();
}

window.addEventListener("resize", () => live.forEach((c) => c.resize()));

const truncate = (s, n = 22) => (String(s).length > n ? `${String(s).slice(0, n - 1)}…` : String(s));

/** Horizontal bars, largest first at the top: [{label, value}] → counts per value. */
export function hbar(el, rows, { name = "", color = PALETTE[0], format = fmtNum, labelWidth = 22 } = {}) {
  const data = [...rows].reverse();
  const chart = init(el, Math.max(140, 26 * data.length + 50));
  chart.setOption({
    color: [color],
    animation: false,
    grid: { left: 8, right: 60, top: 10, bottom: 20, containLabel: true },
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, valueFormatter: format },
    xAxis: { type: "value", axisLabel: { formatter: (v) => format(v) } },
    yAxis: { type: "category", data: data.map((r) => truncate(r.label, labelWidth)), axisTick: { show: false } },
    series: [{ name, type: "bar", data: data.map((r) => r.value), barMaxWidth: 18,
      label: { show: true, position: "right", formatter: (p) => format(p.value) } }],
  });
  return chart;
}

/** Vertical bars for a histogram: [{label, value}] in order. */
export function columns(el, rows, { name = "", color = PALETTE[0] } = {}) {
  const chart = init(el, 240);
  chart.setOption({
    color: [color],
    animation: false,
    grid: { left: 8, right: 16, top: 16, bottom: 8, containLabel: true },
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
    xAxis: { type: "category", data: rows.map((r) => r.label), axisLabel: { rotate: rows.length > 6 ? 30 : 0, fontSize: 11 } },
    yAxis: { type: "value" },
    series: [{ name, type: "bar", data: rows.map((r) => r.value), barCategoryGap: "8%" }],
  });
  return chart;
}

/** TGI bars with the 100 line: [{label, tgi, low, high, lowSupport}]. */
export function tgiBars(el, rows, { name = "TGI" } = {}) {
  const data = [...rows].reverse();
  const chart = init(el, Math.max(160, 26 * data.length + 74));
  chart.setOption({
    animation: false,
    grid: { left: 8, right: 60, top: 24, bottom: 24, containLabel: true },
    tooltip: {
      trigger: "item",
      formatter: (p) => {
        const r = data[p.dataIndex];
        const ci = r.low != null && r.high != null ? ` (95%: ${fmtNum(r.low, 0)}–${fmtNum(r.high, 0)})` : "";
        return `${r.label}<br/>TGI ${fmtNum(r.tgi, 1)}${ci}`;
      },
    },
    xAxis: { type: "value", name, nameLocation: "middle", nameGap: 22 },
    yAxis: { type: "category", data: data.map((r) => truncate(r.label, 30)), axisTick: { show: false } },
    series: [{
      name, type: "bar", barMaxWidth: 18,
      data: data.map((r) => ({
        value: r.tgi,
        itemStyle: { color: r.tgi >= 100 ? PALETTE[0] : PALETTE[3], opacity: r.lowSupport ? 0.45 : 1 },
      })),
      label: { show: true, position: "right", formatter: (p) => fmtNum(p.value, 0) },
      markLine: { silent: true, symbol: "none", lineStyle: { color: "#555", type: "dashed" },
        label: { formatter: "100" }, data: [{ xAxis: 100 }] },
    }],
  });
  return chart;
}

/** Segment vs comparison group shares per value: [{label, segment, base}] (shares 0..1). */
export function compare(el, rows, { segment = "Segment", base = "Base" } = {}) {
  const chart = init(el, Math.max(180, 34 * rows.length + 60));
  const data = [...rows].reverse();
  chart.setOption({
    color: [PALETTE[0], "#b8c2cc"],
    animation: false,
    legend: { top: 0 },
    grid: { left: 8, right: 50, top: 28, bottom: 10, containLabel: true },
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, valueFormatter: (v) => fmtPct(v) },
    xAxis: { type: "value", axisLabel: { formatter: (v) => fmtPct(v, 0) } },
    yAxis: { type: "category", data: data.map((r) => truncate(r.label, 26)), axisTick: { show: false } },
    series: [
      { name: segment, type: "bar", data: data.map((r) => r.segment), barMaxWidth: 14 },
      { name: base, type: "bar", data: data.map((r) => r.base), barMaxWidth: 14 },
    ],
  });
  return chart;
}
