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
