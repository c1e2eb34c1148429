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
  const HOUR_MS = 3600e3;
  // A longer series is drawn one point per day (aggregated by the API), so a year is ~365
  // points rather than a wall of ~8,700 hours.
  const DAILY_AFTER_MS = 14 * 24 * HOUR_MS;

  const $ = (id) => document.getElementById(id);
  const controls = {
    network: $("network"), line: $("line"), period: $("period"), start: $("start"),
    end: $("end"), variable: $("variable"), lag: $("lag"),
  };
  const state = {
    apiBase: "", lineNames: {}, lines: [], impact: [], generation: 0, charts: {},
    coverage: {}, published: null,
  };

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
  const minute = (iso) => (iso ? iso.slice(0, 16).replace("T", " ") : "–");

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
        "95 % CI [" + fixed(correlation.ci_low, 2) + ", " + fixed(correlation.ci_high, 2) + "], " +
        "adjusted [" + fixed(correlation.ci_low_adj, 2) + ", " + fixed(correlation.ci_high_adj, 2) + "] · " +
        pValue(correlation.p_value_adj) + " adjusted · n = " + correlation.n +
        ", n_eff = " + fixed(correlation.n_eff, 0) + " · " +
        VARIABLE_LABEL[variable] + ", lag " + controls.lag.value + " h, " + yKind());
    } else {
      setCard("card-r", null, "–", correlation ? "too few cells (n = " + correlation.n + ")"
        : "no correlation for " + VARIABLE_LABEL[variable]);
    }
  }

  function hourKey(location, hourMs) { return location + "|" + hourMs; }

  /** Hourly rows: location, UTC weekday and hour of day; daily rows: location and weekday. */
  function slot(row) {
    if (row.hour == null) return row.location_id + "|" + new Date(row.day).getUTCDay();
    const when = new Date(row.hour);
    return row.location_id + "|" + when.getUTCDay() + "|" + when.getUTCHours();
  }

  /** Mean delay per slot (see `slot`) over the whole history: the baseline. */
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

  /** One point per hour or per day (`grain`): delay weighted by non-cancelled departures
   * over the locations, precipitation the mean over the locations (of the daily totals). */
  function renderSeries(rows, base, grain) {
    const daily = grain === "day";
    const time = daily ? "day" : "hour";
    const ys = delayValues(rows, yKind(), base);
    const points = new Map();
    rows.forEach((row, index) => {
      const entry = points.get(row[time]) || { delay: 0, weight: 0, rain: 0, rainCount: 0 };
      const kept = row.departures - row.cancelled;
      if (ys[index] != null && kept > 0) { entry.delay += ys[index] * kept; entry.weight += kept; }
      if (row.precipitation_mm != null) { entry.rain += row.precipitation_mm; entry.rainCount += 1; }
      points.set(row[time], entry);
    });
    const keys = [...points.keys()].sort();
    const chart = state.charts.series;
    chart.data.labels = keys.map((t) => (daily ? t.slice(0, 10) : t.slice(0, 13).replace("T", " ") + "h"));
    chart.data.datasets[0].data = keys.map((t) => (points.get(t).weight ? points.get(t).delay / points.get(t).weight : null));
    chart.data.datasets[1].data = keys.map((t) => (points.get(t).rainCount ? points.get(t).rain / points.get(t).rainCount : null));
    chart.data.datasets[0].label = yKind() === "anomaly" ? "Delay anomaly (s)" : "Mean delay (s)";
    const rain = daily ? "Precipitation (mm per day)" : "Precipitation (mm)";
    chart.data.datasets[1].label = rain;
    chart.options.scales.rain.title.text = rain;
    $("series-caption").textContent = daily
      ? "Daily mean delay and precipitation (one point per UTC day, " + keys.length + " days)"
      : "Hourly mean delay and precipitation";
    chart.update("none");
  }

  // --- charts ------------------------------------------------------------------------------
  /** Draws each dataset's `errorBars` ([low, high] per point, on its y axis) as whiskers. */
  const errorBars = {
    id: "errorBars",
    afterDatasetsDraw(chart) {
      const ctx = chart.ctx;
      chart.data.datasets.forEach((dataset, index) => {
        if (!dataset.errorBars) return;
        const meta = chart.getDatasetMeta(index);
        const axis = chart.scales[meta.yAxisID || "y"];
        ctx.save();
        ctx.strokeStyle = "#24292f";
        ctx.lineWidth = 1.5;
        meta.data.forEach((element, i) => {
          const bar = dataset.errorBars[i];
          if (!bar || bar[0] == null || bar[1] == null) return;
          const x = element.x, top = axis.getPixelForValue(bar[1]), bottom = axis.getPixelForValue(bar[0]);
          ctx.beginPath();
          ctx.moveTo(x, top); ctx.lineTo(x, bottom);
          ctx.moveTo(x - 5, top); ctx.lineTo(x + 5, top);
          ctx.moveTo(x - 5, bottom); ctx.lineTo(x + 5, bottom);
          ctx.stroke();
        });
        ctx.restore();
      });
    },
  };

  /** Axis limits that hold every whisker. */
  function boundsOf(values, bars) {
    const all = values.concat(...bars).filter((v) => v != null);
    if (!all.length) return {};
    return { suggestedMin: Math.min(0, ...all), suggestedMax: Math.max(0, ...all) };
  }

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
    state.charts.sensitivity = new Chart($("sensitivity-chart"), {
      type: "bar",
      plugins: [errorBars],
      data: { labels: [], datasets: [
        { label: "Delay uplift in wet hours (s), 95 % interval", data: [], errorBars: [],
          backgroundColor: [] },
      ] },
      options: { scales: { y: { title: { display: true, text: "Wet − dry mean delay (s)" } } } },
    });
    state.charts.outlook = new Chart($("outlook-chart"), {
      type: "bar",
      plugins: [errorBars],
      data: { labels: [], datasets: [
        { label: "Expected mean delay (s), 95 % interval", type: "line", data: [], errorBars: [],
          borderColor: "#b42318", backgroundColor: "#b42318", pointRadius: 2, yAxisID: "delay" },
        { label: "Forecast precipitation (mm)", data: [], backgroundColor: "#2b8cbe", yAxisID: "rain" },
      ] },
      options: { scales: {
        x: { ticks: { maxTicksLimit: 12, autoSkip: true } },
        delay: { position: "left", title: { display: true, text: "Expected delay (s)" } },
        rain: { position: "right", min: 0, grid: { drawOnChartArea: false }, title: { display: true, text: "Precipitation (mm)" } },
      } },
    });
    state.charts.lags = new Chart($("lag-chart"), {
      type: "line",
      plugins: [errorBars],
      data: { labels: ["0 h", "1 h", "2 h", "3 h"], datasets: [
        { label: "r (95 % interval adjusted for autocorrelation)", data: [], errorBars: [],
          borderColor: "#1f6feb", backgroundColor: "#1f6feb", pointRadius: 4 },
      ] },
      options: { scales: {
        x: { title: { display: true, text: "Lag (weather this many hours before)" } },
        y: { min: -1, max: 1, title: { display: true, text: "Pearson r" } },
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

  /** Lines of the network by their sensitivity rank; unranked lines (too few wet hours)
   * after them, in grey. The all-lines row is not a line and is left out. */
  function renderSensitivity(rows) {
    const lines = rows.filter((row) => row.line_id !== "*");
    const network = controls.network.value;
    const chart = state.charts.sensitivity;
    const dataset = chart.data.datasets[0];
    chart.data.labels = lines.map((row) =>
      (row.rank != null ? "#" + row.rank + " " : "") + lineLabel(network, row.line_id));
    dataset.data = lines.map((row) => row.uplift_s);
    dataset.errorBars = lines.map((row) => [row.uplift_low_s, row.uplift_high_s]);
    dataset.backgroundColor = lines.map((row) => (row.rank != null ? "#f0883e" : "#b1bac4"));
    Object.assign(chart.options.scales.y, boundsOf(dataset.data, dataset.errorBars));
    chart.update("none");
  }

  /** The outlook of the selected line, hour by hour: the mean over its weather locations of
   * the expected delay and its interval bounds, and of the forecast precipitation. */
  function renderOutlook(rows) {
    const byHour = new Map();
    for (const row of rows) {
      if (row.expected_mean_delay_s == null) continue;
      const entry = byHour.get(row.hour) || { n: 0, delay: 0, low: 0, high: 0, bounds: 0, rain: 0 };
      entry.n += 1;
      entry.delay += row.expected_mean_delay_s;
      entry.rain += row.precipitation_mm || 0;
      if (row.mean_delay_low_s != null && row.mean_delay_high_s != null) {
        entry.bounds += 1;
        entry.low += row.mean_delay_low_s;
        entry.high += row.mean_delay_high_s;
      }
      byHour.set(row.hour, entry);
    }
    const hours = Array.from(byHour.keys()).sort();
    const chart = state.charts.outlook;
    const [delay, rain] = chart.data.datasets;
    chart.data.labels = hours.map((hour) => hour.slice(5, 16).replace("T", " "));
    delay.data = hours.map((hour) => byHour.get(hour).delay / byHour.get(hour).n);
    delay.errorBars = hours.map((hour) => {
      const e = byHour.get(hour);
      return e.bounds === e.n ? [e.low / e.n, e.high / e.n] : null;
    });
    rain.data = hours.map((hour) => byHour.get(hour).rain / byHour.get(hour).n);
    Object.assign(chart.options.scales.delay, boundsOf(delay.data, delay.errorBars));
    const issued = rows.length ? rows[0].issued_at.slice(0, 16).replace("T", " ") + "Z" : null;
    $("outlook-caption").textContent = issued
      ? "Next 48 h from the forecast issued " + issued + ": expected mean delay with its 95 % interval, and the forecast precipitation"
      : "Next 48 h: no forecast published";
    chart.update("none");
  }

  /** Every line's next 48 h as a heat strip: per line and forecast hour, the largest
   * expected mean delay over the line's weather locations (its worst place), so the lines
   * that will suffer stand out; the shade is relative to the strip's largest value. */
  function renderOutlookStrip(network, rows) {
    const worst = new Map();
    const hourSet = new Set();
    for (const row of rows) {
      if (row.expected_mean_delay_s == null) continue;
      hourSet.add(row.hour);
      const byHour = worst.get(row.line_id) || new Map();
      const seen = byHour.get(row.hour);
      if (seen == null || row.expected_mean_delay_s > seen) byHour.set(row.hour, row.expected_mean_delay_s);
      worst.set(row.line_id, byHour);
    }
    const hours = Array.from(hourSet).sort();
    const lines = Array.from(worst.keys()).sort((a, b) => (a === "*" ? -1 : b === "*" ? 1 : a.localeCompare(b)));
    let top = 0;
    for (const byHour of worst.values()) for (const value of byHour.values()) top = Math.max(top, value);
    const table = $("outlook-strip");
    table.replaceChildren();
    const head = table.createTHead().insertRow();
    head.appendChild(document.createElement("th"));
    hours.forEach((hour, index) => {
      const th = document.createElement("th");
      th.textContent = index % 6 === 0 ? hour.slice(11, 13) + "h" : "";
      th.title = hour;
      head.appendChild(th);
    });
    const body = table.createTBody();
    for (const line of lines) {
      const tr = body.insertRow();
      const name = document.createElement("th");
      name.textContent = line === "*" ? "All lines" : lineLabel(network, line);
      name.scope = "row";
      tr.appendChild(name);
      for (const hour of hours) {
        const td = tr.insertCell();
        const value = worst.get(line).get(hour);
        td.dataset.line = line;
        td.dataset.hour = hour;
        if (value == null) continue;
        td.dataset.delay = String(value);
        const shade = top > 0 ? Math.max(0, value) / top : 0;
        td.style.backgroundColor = "rgba(207, 34, 46, " + (0.08 + 0.92 * shade).toFixed(3) + ")";
        td.title = name.textContent + ", " + hour.slice(0, 16).replace("T", " ") + "Z: " + Math.round(value) + " s expected";
      }
    }
  }

  /** r by lag 0–3 h for the selected variable, line, period and y, with adjusted intervals. */
  function renderLags(rows) {
    const byLag = Object.fromEntries(rows.map((row) => [row.lag_h, row]));
    const dataset = state.charts.lags.data.datasets[0];
    dataset.data = [0, 1, 2, 3].map((lag) => (byLag[lag] ? byLag[lag].pearson_r : null));
    dataset.errorBars = [0, 1, 2, 3].map((lag) =>
      (byLag[lag] ? [byLag[lag].ci_low_adj, byLag[lag].ci_high_adj] : null));
    $("lag-caption").textContent = "Correlation of delay with " +
      VARIABLE_LABEL[controls.variable.value].toLowerCase() + " by lag (" + yKind() + ")";
    state.charts.lags.update("none");
  }

  // --- flow --------------------------------------------------------------------------------
  function scope() {
    return { network: controls.network.value, line_id: controls.line.value };
  }

  /** `day` when the chosen dates, clipped to the network's hours with weather, span more
   * than two weeks; `day` too when that span is unknown, so it is never a wall of hours. */
  function seriesGrain(start, end) {
    const span = state.coverage[controls.network.value];
    const first = span && span.weather_first_hour ? Date.parse(span.weather_first_hour) : null;
    const last = span && span.weather_last_hour ? Date.parse(span.weather_last_hour) + HOUR_MS : null;
    let from = start ? Date.parse(start + "T00:00:00Z") : first;
    let until = end ? Date.parse(end + "T00:00:00Z") : last;
    if (from == null || until == null) return "day";
    if (first != null) from = Math.max(from, first);
    if (last != null) until = Math.min(until, last);
    return until - from > DAILY_AFTER_MS ? "day" : "hour";
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
      const anomaly = yKind() === "anomaly";
      const wholeHistory = anomaly && (start || end);
      const grain = seriesGrain(start, end);
      const daily = grain === "day";
      const days = Object.assign({ grain: "day" }, scope());
      const [lagRows, sensitivity, hourly, history, dayRows, dayHistory, outlookLines] = await Promise.all([
        api("/kpi/correlation", Object.assign({
          period: period, variable: controls.variable.value, y_kind: yKind(),
        }, scope())).then((p) => p.rows),
        fetchAll("/kpi/sensitivity", { network: controls.network.value, period: period }),
        fetchAll("/kpi/hourly", Object.assign({ start: start, end: end }, scope())),
        wholeHistory ? fetchAll("/kpi/hourly", scope()) : Promise.resolve(null),
        daily ? fetchAll("/kpi/hourly", Object.assign({ start: start, end: end }, days)) : Promise.resolve(null),
        daily && wholeHistory ? fetchAll("/kpi/hourly", days) : Promise.resolve(null),
        // Every line's outlook once: the strip shows them all, the chart the selected one.
        fetchAll("/kpi/outlook", { network: controls.network.value }),
      ]);
      if (generation !== state.generation) return;  // a newer request superseded this one
      const correlation = lagRows.find((row) => String(row.lag_h) === String(controls.lag.value)) || null;
      renderSensitivity(sensitivity);
      renderOutlook(outlookLines.filter((row) => row.line_id === controls.line.value));
      renderOutlookStrip(controls.network.value, outlookLines);
      renderLags(lagRows);
      const impactRows = state.impact.filter((row) => row.period === period);
      renderCards(impactRows, correlation);
      renderClassChart(impactRows);
      const base = anomaly ? baseline(history || hourly) : null;
      renderScatter(hourly, correlation, base);
      if (daily) renderSeries(dayRows, anomaly ? baseline(dayHistory || dayRows) : null, "day");
      else renderSeries(hourly, base, "hour");
      $("main").dataset.grain = grain;
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

  /** The selected network's data span (first and last hour with departures), and apart
   * from it when gold was published: a backfill is published long after its last hour. */
  function renderHeader() {
    const span = state.coverage[controls.network.value];
    const node = $("data-span");
    if (span) {
      let text = "Data " + minute(span.first_hour) + " – " + minute(span.last_hour) + " UTC";
      if (span.weather_first_hour == null) {
        text += " (no hour with known weather)";
      } else if (span.weather_first_hour !== span.first_hour || span.weather_last_hour !== span.last_hour) {
        text += " (with weather " + minute(span.weather_first_hour) + " – " + minute(span.weather_last_hour) + ")";
      }
      node.textContent = text;
      node.dataset.first = span.first_hour;
      node.dataset.last = span.last_hour;
    } else {
      node.textContent = state.published ? "No data for this network" : "";
      node.dataset.first = node.dataset.last = "";
    }
    node.title = Object.values(state.coverage)
      .map((s) => s.network + ": " + minute(s.first_hour) + " – " + minute(s.last_hour) + " UTC").join("\n");
    const published = state.published;
    $("published").textContent = published
      ? " · published " + minute(published.published_at) + " UTC · gate " + (published.gate_status || "unknown")
      : "";
    $("published").dataset.value = published ? published.published_at : "";
  }

  async function freshness() {
    try {
      const [body, coverage] = await Promise.all([api("/freshness"), api("/coverage")]);
      state.published = body.rows;
      state.coverage = Object.fromEntries(coverage.rows.map((row) => [row.network, row]));
    } catch (error) {
      state.published = null;
      state.coverage = {};
    }
    renderHeader();
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
    renderHeader();
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
