// twinshop's bar above Locust's web UI: which shop the test loads, and which scenario it runs.
// Choosing a target points Locust's Host at that shop and resets the statistics and charts (the
// page reloads), so two shops never share a chart. Served by loadtests/visitors/targets.py.
(function () {
  const bar = document.createElement("div");
  bar.id = "twinshop-bar";
  bar.setAttribute("role", "region");
  bar.setAttribute("aria-label", "twinshop target and scenario");
  bar.style.cssText = "position:sticky;top:0;z-index:2000;display:flex;flex-wrap:wrap;gap:12px 20px;" +
    "align-items:center;padding:10px 18px;background:#1d2330;color:#fff;font:16px system-ui,sans-serif";
  document.body.prepend(bar);

  async function call(method, body) {
    const response = await fetch("./twinshop/choice", {
      method, headers: {"Content-Type": "application/json"}, body: body ? JSON.stringify(body) : undefined,
    });
    const data = await response.json();
    if (!response.ok) { alert(data.message); return null; }
    return data;
  }

  function button(label, pressed, onclick, colour) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    b.setAttribute("aria-pressed", String(pressed));
    b.style.cssText = "font:600 16px system-ui,sans-serif;padding:6px 14px;border-radius:6px;cursor:pointer;" +
      (pressed ? `background:${colour};color:#fff;border:2px solid #fff` : "background:#2d3546;color:#cfd6e4;border:2px solid #4a5468");
    b.onclick = onclick;
    return b;
  }

  function render(state) {
    bar.replaceChildren();
    const title = document.createElement("strong");
    title.textContent = "Target:";
    bar.append(title);
    const colours = {monolith: "#0072B2", distributed: "#E69F00"};
    for (const [name, url] of Object.entries(state.targets)) {
      const b = button(`${name} (${url})`, state.target === name, async () => {
        if (state.target === name) return;
        if (await call("POST", {target: name})) location.reload();
      }, colours[name]);
      b.dataset.target = name;
      b.disabled = state.running;
      bar.append(b);
    }
    const label = document.createElement("label");
    label.textContent = "Scenario: ";
    label.style.cssText = "font-weight:600;margin-left:10px";
    const select = document.createElement("select");
    select.id = "twinshop-scenario";
    select.style.cssText = "font:16px system-ui,sans-serif;padding:4px";
    for (const name of Object.keys(state.scenarios)) {
      const option = document.createElement("option");
      option.value = name;
      option.textContent = name;
      option.selected = name === state.scenario;
      select.append(option);
    }
    select.disabled = state.running;
    select.onchange = async () => { const s = await call("POST", {scenario: select.value}); if (s) render(s); };
    label.append(select);
    bar.append(label);
    const stages = document.createElement("span");
    stages.id = "twinshop-stages";
    stages.style.cssText = "color:#cfd6e4;font-size:14px";
    stages.textContent = state.scenarios[state.scenario] || "";
    bar.append(stages);
    if (state.running) {
      const note = document.createElement("span");
      note.textContent = "(stop the test to change them)";
      note.style.cssText = "color:#ffcc80;font-size:14px";
      bar.append(note);
    }
  }

  async function refresh() { const state = await call("GET"); if (state) render(state); }
  refresh();
  setInterval(refresh, 3000);
})();
