// rk console: the little the pages need in the browser — table search, payload formats
// (text, pretty JSON, hex), the cluster switcher and dark mode. No framework, no CDN.
(function () {
  const root = document.documentElement;
  const saved = localStorage.getItem("rk-theme");
  if (saved) root.dataset.theme = saved;
  document.addEventListener("DOMContentLoaded", () => {
    const theme = document.getElementById("theme");
    if (theme) theme.addEventListener("click", () => {
      const dark = root.dataset.theme === "dark" || (!root.dataset.theme && matchMedia("(prefers-color-scheme: dark)").matches);
      root.dataset.theme = dark ? "light" : "dark";
      localStorage.setItem("rk-theme", root.dataset.theme);
    });
    const sw = document.getElementById("cluster-switch");
    if (sw) sw.addEventListener("change", () => { location.href = sw.value; });
    for (const box of document.querySelectorAll("input.filter")) {
      const table = document.getElementById(box.dataset.table);
      if (!table) continue;
      const apply = () => {
        const q = box.value.toLowerCase();
        for (const row of table.tBodies[0].rows) row.hidden = q !== "" && !row.textContent.toLowerCase().includes(q);
      };
      box.addEventListener("input", apply);
    }
    const fmt = document.getElementById("payload-format");
    if (fmt) fmt.addEventListener("change", () => {
      for (const cell of document.querySelectorAll(".payload")) {
        const raw = Uint8Array.from(atob(cell.dataset.b64), (c) => c.charCodeAt(0));
        const text = new TextDecoder().decode(raw);
        if (fmt.value === "hex") cell.textContent = Array.from(raw, (b) => b.toString(16).padStart(2, "0")).join(" ");
        else if (fmt.value === "json") { try { cell.textContent = JSON.stringify(JSON.parse(text), null, 2); } catch (_) { cell.textContent = text; } }
        else cell.textContent = text;
      }
    });
  });
})();
// Live charts (cluster page, rk brokers with a metrics endpoint): poll the console's
// snapshot every 2 s, plot byte rates in/out and total consumer lag over the last 2 minutes.
(function () {
  document.addEventListener("DOMContentLoaded", () => {
    const live = document.getElementById("live");
    if (!live) return;
    const points = [];
    const line = (svg, values, cls, max) => {
      const w = 600, h = 120, n = Math.max(values.length - 1, 1);
      const d = values.map((v, i) => `${(i / n) * w},${h - (max > 0 ? (v / max) * (h - 4) : 0)}`).join(" ");
      const p = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
      p.setAttribute("points", d); p.setAttribute("class", cls); svg.appendChild(p);
    };
    const fmt = (v) => v >= 1e6 ? (v / 1e6).toFixed(1) + "M" : v >= 1e3 ? (v / 1e3).toFixed(1) + "k" : v.toFixed(0);
    const tick = async () => {
      try {
        const r = await fetch(live.dataset.url, { credentials: "same-origin" });
        if (!r.ok) return;
        const s = await r.json();
        const lag = Object.values(s.lag || {}).reduce((a, b) => a + b, 0);
        const prev = points[points.length - 1];
        const dt = prev ? (s.t - prev.t) / 1000 : 0;
        points.push({ t: s.t, bin: s.bytes_in, bout: s.bytes_out, lag,
          rin: prev && dt > 0 ? Math.max(0, (s.bytes_in - prev.bin) / dt) : 0,
          rout: prev && dt > 0 ? Math.max(0, (s.bytes_out - prev.bout) / dt) : 0 });
        while (points.length > 60) points.shift();
        const tp = document.getElementById("chart-throughput"), lg = document.getElementById("chart-lag");
        tp.replaceChildren(); lg.replaceChildren();
        const max = Math.max(1, ...points.map((p) => Math.max(p.rin, p.rout)));
        line(tp, points.map((p) => p.rin), "in", max); line(tp, points.map((p) => p.rout), "out", max);
        line(lg, points.map((p) => p.lag), "lag", Math.max(1, ...points.map((p) => p.lag)));
        const last = points[points.length - 1];
        document.getElementById("live-now").textContent = `now ${fmt(last.rin)} in, ${fmt(last.rout)} out`;
        document.getElementById("lag-now").textContent = `now ${fmt(last.lag)}`;
      } catch (_) { /* the next tick tries again */ }
    };
    tick(); setInterval(tick, 2000);
  });
})();
