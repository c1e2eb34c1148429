/* umwi dashboard: reads the KPI API (same origin, or config.json's apiUrl) and draws it. */
(function () {
  "use strict";

  const CLASS_ORDER = ["dry", "light_rain", "moderate_rain", "heavy_rain", "snow", "wet", "unknown"];
  const CLASS_LABEL = {
    dry: "Dry", light_rain: "Light rain", moderate_rain: "Moderate rain",
    heavy_rain: "Heavy rain", snow: "Snow", wet: "Wet (rain or snow)", unknown: "Unknown",
  };
  const VARIABLE_LABEL = {
    precipitation_mm: "Precipitation (mm)", rain_mm: "Rain (mm)", snowfall_cm: "Snowfall (cm)",
    temperature_c: "Temperature (°C)", wind_speed_kmh: "Wind speed (km/h)", visibility_m: "Visibility (m)",
  };
  const PAGE = 1000;
  const MAX_HOURLY_ROWS = 20000;

  const $ = (id) => document.getElementById(id);
  const controls = {
    network: $("network"), line: $("line"), period: $("period"), start: $("start"),
    end: $("end"), variable: $("variable"), lag: $("lag"),
  };
  const state = { apiBase: "", lineNames: {}, lines: [], impact: [], generation: 0, charts: {} };

  class ApiError extends Error {
    constructor(message, status) { super(message); this.status = status; }
  }

  // --- formatting --------------------------------------------------------------------------
  const pct = (value) => (value == null ? "–" : (100 * value).toFixed(1) + " %");
  const seconds = (value) => (value == null ? "–" : Math.round(value) + " s");
  const signed = (value, digits, unit) =>
    value == null ? "–" : (value >= 0 ? "+" : "−") + Math.abs(value).toFixed(digits) + unit;
  const fixed = (value, digits) => (value == null ? "–" : value.toFixed(digits));
  const pValue = (value) => (value == null ? "–" : value < 0.001 ? "p < 0.001" : "p = " + value.toFixed(3));

  // --- API ---------------------------------------------------------------------------------
  async function api(path, params) {
    const url = new URL(state.apiBase + path, window.location.href);
    for (const [key, value] of Object.entries(params || {})) {
      if (value !== "" && value != null) url.searchParams.set(key, String(value));
    }
    let response;
    try {
      response = await fetch(url, { headers: { Accept: "application/json" } });
    } catch (error) {
      throw new ApiError("The API cannot be reached (" + url.origin + ").", 0);
    }
    if (!response.ok) {
      let message = response.status + " " + response.statusText;
      try { message = (await response.json()).error || message; } catch (ignored) { /* not JSON */ }
      throw new ApiError(message, response.status);
    }
    return { rows: await response.json(), total: Number(response.headers.get("X-Total-Count")) };
  }

  async function fetchAll(path, params) {
    const rows = [];
    for (let offset = 0; offset < MAX_HOURLY_ROWS; offset += PAGE) {
      const page = await api(path, Object.assign({}, params, { limit: PAGE, offset: offset }));
      rows.push(...page.rows);
      if (page.rows.length < PAGE || rows.length >= page.total) break;
    }
    return rows;
  }

  // --- status ------------------------------------------------------------------------------
  function setStatus(kind, message) {
    const box = $("status");
    box.dataset.state = kind;
    box.setAttribute("role", kind === "error" ? "alert" : "status");
    box.textContent = message;
    $("main").setAttribute("aria-busy", kind === "loading" ? "true" : "false");
  }

  // --- selectors ---------------------------------------------------------------------------
  function lineLabel(network, lineId, apiName) {
    if (lineId === "*") return "All lines";
    const name = apiName || (state.lineNames[network] || {})[lineId];
    return name ? name + " (" + lineId + ")" : lineId;
  }

  function fillSelect(select, options, wanted) {
    select.replaceChildren(...options.map(([value, label]) => new Option(label, value)));
    const values = options.map(([value]) => value);
    select.value = values.includes(wanted) ? wanted : values[0] || "";
    select.disabled = options.length === 0;
  }

  function fillNetworks() {
    const networks = [...new Set(state.lines.map((row) => row.network))];
    fillSelect(controls.network, networks.map((n) => [n, n]), controls.network.value);
  }

  function fillLines() {
    const network = controls.network.value;
    const lines = state.lines.filter((row) => row.network === network);
    fillSelect(
      controls.line,
      lines.map((row) => [row.line_id, lineLabel(network, row.line_id, row.line_name)]),
      controls.line.value || "*",
    );
  }

  function fillPeriods() {
    const periods = [...new Set(state.impact.map((row) => row.period))].sort((a, b) =>
      a === "all" ? -1 : b === "all" ? 1 : a.localeCompare(b));
    fillSelect(
      controls.period,
      periods.map((p) => [p, p === "all" ? "Whole history" : p]),
      controls.period.value || "all",
    );
  }

  function yKind() {
    return document.querySelector('input[name="ykind"]:checked').value;
  }

  // --- figures -----------------------------------------------------------------------------
  /** Totals over the weather classes (not the pooled `wet` row, which repeats rain and snow). */
  function overall(rows) {
    let departures = 0, kept = 0, onTime = 0, delaySum = 0, delayWeight = 0;
    for (const row of rows) {
      if (row.weather_class === "wet") continue;
      const notCancelled = row.departures * (1 - (row.cancellation_rate || 0));
      departures += row.departures;
      kept += notCancelled;
      if (row.on_time_rate != null) onTime += row.on_time_rate * notCancelled;
      if (row.mean_delay_s != null) { delaySum += row.mean_delay_s * notCancelled; delayWeight += notCancelled; }
    }
    return {
      onTimeRate: kept > 0 ? onTime / kept : null,
      reliabilityRate: departures > 0 ? onTime / departures : null,
      meanDelay: delayWeight > 0 ? delaySum / delayWeight : null,
    };
  }

  function setCard(id, value, text, sub) {
    const card = $(id);
    const valueNode = card.querySelector(".value");
    valueNode.dataset.value = value == null ? "" : String(value);
    valueNode.textContent = text;
    if (sub != null) card.querySelector(".sub").textContent = sub;
  }

  function renderCards(impactRows, correlation) {
    const byClass = Object.fromEntries(impactRows.map((row) => [row.weather_class, row]));
    const totals = overall(impactRows);
    const dry = byClass.dry, wet = byClass.wet;
    const split = (field, format) =>
      "dry " + format(dry ? dry[field] : null) + " · wet " + format(wet ? wet[field] : null);
    setCard("card-ontime", totals.onTimeRate, pct(totals.onTimeRate), split("on_time_rate", pct));
    setCard("card-reliability", totals.reliabilityRate, pct(totals.reliabilityRate),
      split("reliability_rate", pct));
    setCard("card-delay", totals.meanDelay, seconds(totals.meanDelay), split("mean_delay_s", seconds));
    const uplift = wet ? wet.uplift_s : null;
    setCard("card-uplift", uplift, signed(uplift, 1, " s"),
      wet && wet.uplift_pct != null ? signed(wet.uplift_pct, 1, " %") + " vs dry hours"
        : "rain or snow vs dry (no % when dry delay < 30 s)");
    const variable = controls.variable.value;
    if (correlation && correlation.pearson_r != null) {
      setCard("card-r", correlation.pearson_r, fixed(correlation.pearson_r, 2),
        "95 % CI [" + fixed(correlation.ci_low, 2) + ", " + fixed(correlation.ci_high, 2) + "] · " +
        pValue(correlation.p_value) + " · n = " + correlation.n + " · " +
        VARIABLE_LABEL[variable] + ", lag " + controls.lag.value + " h, " + yKind());
    } else {
      setCard("card-r", null, "–", correlation ? "too few cells (n = " + correlation.n + ")"
        : "no correlation for " + VARIABLE_LABEL[variable]);
    }
  }

  function hourKey(location, hourMs) { return location + "|" + hourMs; }

  function slot(row) {
    const when = new Date(row.hour);
    return row.location_id + "|" + when.getUTCDay() + "|" + when.getUTCHours();
  }

  /** Mean delay per (location, UTC weekday, UTC hour) over the whole history: the baseline. */
  function baseline(history) {
    const sums = new Map();
    for (const row of history) {
      if (row.mean_delay_s == null) continue;
      const entry = sums.get(slot(row)) || [0, 0];
      entry[0] += row.mean_delay_s; entry[1] += 1;
      sums.set(slot(row), entry);
    }
    return new Map([...sums].map(([key, [sum, count]]) => [key, sum / count]));
  }

  /** y per row: raw mean delay, or that minus the baseline (DESIGN.md §5 `anomaly`). */
  function delayValues(rows, kind, base) {
    if (kind !== "anomaly") return rows.map((row) => row.mean_delay_s);
    return rows.map((row) => {
      const mean = base.get(slot(row));
      return row.mean_delay_s == null || mean == null ? null : row.mean_delay_s - mean;
    });
  }

  function renderClassChart(impactRows) {
    const rows = CLASS_ORDER.map((c) => impactRows.find((row) => row.weather_class === c)).filter(Boolean);
    const chart = state.charts.classes;
    chart.data.labels = rows.map((row) => CLASS_LABEL[row.weather_class] || row.weather_class);
    chart.data.datasets[0].data = rows.map((row) => (row.on_time_rate == null ? null : 100 * row.on_time_rate));
    chart.data.datasets[1].data = rows.map((row) => row.mean_delay_s);
    chart.update("none");
  }

  function renderScatter(hourly, correlation, base) {
    const variable = controls.variable.value;
    const lag = Number(controls.lag.value);
    const weather = new Map(hourly.map((row) => [hourKey(row.location_id, Date.parse(row.hour)), row[variable]]));
    const ys = delayValues(hourly, yKind(), base);
    const points = [];
    hourly.forEach((row, index) => {
      const x = weather.get(hourKey(row.location_id, Date.parse(row.hour) - lag * 3600e3));
      if (x != null && ys[index] != null) points.push({ x: x, y: ys[index] });
    });
    const chart = state.charts.scatter;
    chart.data.datasets[0].data = points;
    const line = [];
    if (correlation && correlation.slope != null && points.length) {
      const xs = points.map((p) => p.x);
      const low = Math.min(...xs), high = Math.max(...xs);
      line.push({ x: low, y: correlation.intercept + correlation.slope * low });
      line.push({ x: high, y: correlation.intercept + correlation.slope * high });
    }
    chart.data.datasets[1].data = line;
    chart.data.datasets[1].label = correlation && correlation.slope != null
      ? "fit: " + fixed(correlation.slope, 2) + " s per unit, intercept " + fixed(correlation.intercept, 1) + " s"
      : "fit: not available";
    chart.options.scales.x.title.text = VARIABLE_LABEL[variable] + (lag ? " " + lag + " h earlier" : "");
    chart.options.scales.y.title.text = yKind() === "anomaly" ? "Delay anomaly (s)" : "Mean delay (s)";
    $("scatter-caption").textContent = "Delay vs " + VARIABLE_LABEL[variable].toLowerCase() +
      ", one point per location-hour (" + points.length + "), with the fitted line";
    chart.update("none");
  }

  function renderSeries(hourly, base) {
    const ys = delayValues(hourly, yKind(), base);
    const hours = new Map();
    hourly.forEach((row, index) => {
      const entry = hours.get(row.hour) || { delay: 0, weight: 0, rain: 0, rainCount: 0 };
      const kept = row.departures - row.cancelled;
      if (ys[index] != null && kept > 0) { entry.delay += ys[index] * kept; entry.weight += kept; }
      if (row.precipitation_mm != null) { entry.rain += row.precipitation_mm; entry.rainCount += 1; }
      hours.set(row.hour, entry);
    });
    const keys = [...hours.keys()].sort();
    const chart = state.charts.series;
    chart.data.labels = keys.map((hour) => hour.slice(0, 13).replace("T", " ") + "h");
    chart.data.datasets[0].data = keys.map((h) => (hours.get(h).weight ? hours.get(h).delay / hours.get(h).weight : null));
    chart.data.datasets[1].data = keys.map((h) => (hours.get(h).rainCount ? hours.get(h).rain / hours.get(h).rainCount : null));
    chart.data.datasets[0].label = yKind() === "anomaly" ? "Delay anomaly (s)" : "Mean delay (s)";
    chart.update("none");
  }

  // --- charts ------------------------------------------------------------------------------
  function makeCharts() {
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.maintainAspectRatio = false;
    Chart.defaults.animation = false;
    state.charts.classes = new Chart($("class-chart"), {
      type: "bar",
      data: { labels: [], datasets: [
        { label: "On-time rate (%)", data: [], backgroundColor: "#1f6feb", yAxisID: "rate" },
        { label: "Mean delay (s)", data: [], backgroundColor: "#f0883e", yAxisID: "delay" },
      ] },
      options: { scales: {
        rate: { position: "left", min: 0, max: 100, title: { display: true, text: "On-time rate (%)" } },
        delay: { position: "right", grid: { drawOnChartArea: false }, title: { display: true, text: "Mean delay (s)" } },
      } },
    });
    state.charts.scatter = new Chart($("scatter-chart"), {
      type: "scatter",
      data: { datasets: [
        { label: "location-hours", data: [], pointRadius: 2, backgroundColor: "rgba(43,140,190,0.45)" },
        { label: "fit", type: "line", data: [], borderColor: "#b42318", borderWidth: 2, pointRadius: 0 },
      ] },
      options: { scales: {
        x: { type: "linear", title: { display: true, text: "" } },
        y: { title: { display: true, text: "" } },
      } },
    });
    state.charts.series = new Chart($("series-chart"), {
      type: "bar",
      data: { labels: [], datasets: [
        { label: "Mean delay (s)", type: "line", data: [], borderColor: "#f0883e", pointRadius: 0,
          borderWidth: 1.5, yAxisID: "delay", spanGaps: false },
        { label: "Precipitation (mm)", data: [], backgroundColor: "#2b8cbe", yAxisID: "rain" },
      ] },
      options: { scales: {
        x: { ticks: { maxTicksLimit: 10, autoSkip: true } },
        delay: { position: "left", title: { display: true, text: "Delay (s)" } },
        rain: { position: "right", min: 0, grid: { drawOnChartArea: false }, title: { display: true, text: "Precipitation (mm)" } },
      } },
    });
  }

  // --- flow --------------------------------------------------------------------------------
  function scope() {
    return { network: controls.network.value, line_id: controls.line.value };
  }

  async function loadImpact() {
    state.impact = await api("/kpi/weather-impact", Object.assign({ limit: PAGE }, scope())).then((p) => p.rows);
    fillPeriods();
  }

  async function refresh() {
    const generation = ++state.generation;
    const start = controls.start.value, end = controls.end.value;
    if (start && end && end <= start) {
      setStatus("error", "The end date must be after the start date.");
      return;
    }
    setStatus("loading", "Loading…");
    try {
      const period = controls.period.value || "all";
      // The anomaly baseline spans the whole history, not only the chosen dates.
      const wholeHistory = yKind() === "anomaly" && (start || end);
      const [correlation, hourly, history] = await Promise.all([
        api("/kpi/correlation", Object.assign({
          period: period, variable: controls.variable.value, lag_h: controls.lag.value, y_kind: yKind(),
        }, scope())).then((p) => p.rows[0] || null),
        fetchAll("/kpi/hourly", Object.assign({ start: start, end: end }, scope())),
        wholeHistory ? fetchAll("/kpi/hourly", scope()) : Promise.resolve(null),
      ]);
      if (generation !== state.generation) return;  // a newer request superseded this one
      const impactRows = state.impact.filter((row) => row.period === period);
      renderCards(impactRows, correlation);
      renderClassChart(impactRows);
      const base = yKind() === "anomaly" ? baseline(history || hourly) : null;
      renderScatter(hourly, correlation, base);
      renderSeries(hourly, base);
      // What the figures now show, so tests and scripts can wait for a selection to land.
      $("main").dataset.shown = [scope().network, scope().line_id, period, controls.variable.value,
        controls.lag.value, yKind(), start, end].join("|");
      if (!impactRows.length && !hourly.length) {
        setStatus("empty", "No published data for these filters.");
      } else if (!hourly.length) {
        setStatus("empty", "No hourly data in this date range; the figures above cover the period.");
      } else {
        setStatus("ready", "");
      }
    } catch (error) {
      if (generation === state.generation) setStatus("error", error.message);
    }
  }

  async function freshness() {
    try {
      const body = (await api("/freshness")).rows;
      const newest = Object.values(body.tables).map((t) => t.updated_at).sort().pop();
      $("freshness").textContent = "Published " + body.published_at.slice(0, 16).replace("T", " ") +
        " UTC · data until " + (newest || "–").slice(0, 16).replace("T", " ") + " UTC · gate " +
        (body.gate_status || "unknown");
    } catch (error) {
      $("freshness").textContent = "";
    }
  }

  async function start() {
    try {
      const config = await fetch("config.json").then((r) => (r.ok ? r.json() : {})).catch(() => ({}));
      state.apiBase = String(config.apiUrl || "").replace(/\/+$/, "");
      state.lineNames = config.lineNames || {};
      makeCharts();
      state.lines = (await api("/lines")).rows;
      if (!state.lines.length) { setStatus("empty", "Published gold has no lines yet."); return; }
      fillNetworks();
      fillLines();
      await Promise.all([loadImpact(), freshness()]);
      await refresh();
    } catch (error) {
      setStatus("error", error.message);
    }
  }

  controls.network.addEventListener("change", async () => {
    fillLines();
    setStatus("loading", "Loading…");
    try { await loadImpact(); await refresh(); } catch (error) { setStatus("error", error.message); }
  });
  controls.line.addEventListener("change", async () => {
    setStatus("loading", "Loading…");
    try { await loadImpact(); await refresh(); } catch (error) { setStatus("error", error.message); }
  });
  for (const control of [controls.period, controls.start, controls.end, controls.variable, controls.lag]) {
    control.addEventListener("change", refresh);
  }
  document.querySelectorAll('input[name="ykind"]').forEach((radio) => radio.addEventListener("change", refresh));
  $("filters").addEventListener("submit", (event) => { event.preventDefault(); refresh(); });

  start();
})();
