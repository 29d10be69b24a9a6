// Live updates from /v1/events, writes through the API, and keyboard shortcuts. No library.
"use strict";
(() => {
  const page = document.body.dataset.page;
  const $ = (sel, root = document) => root.querySelector(sel);
  const announce = (text) => { $("#announce").textContent = text; };

  // --- Live: new stories appear at the top, counts grow, a story's page says what arrived. ---
  function listen() {
    const source = new EventSource("/v1/events");
    source.onopen = () => $("#live-state").classList.add("on");
    source.onerror = () => $("#live-state").classList.remove("on");
    const handle = (e) => {
      const ev = JSON.parse(e.data);
      if (page === "stories") onList(ev); else if (page === "story") onStory(ev);
    };
    ["story.created", "story.variant_added", "story.canonical_changed", "story.split"].forEach(
      (type) => source.addEventListener(type, handle));
    document.body.dataset.live = "listening";
  }

  function storyRow(ev) {
    const li = document.createElement("li");
    li.className = "story fresh";
    li.dataset.storyId = ev.story_id;
    const h2 = document.createElement("h2");
    const a = document.createElement("a");
    a.href = "/stories/" + encodeURIComponent(ev.story_id);
    a.textContent = ev.canonical.title || ev.canonical.url;
    h2.append(a);
    const meta = document.createElement("p");
    meta.className = "meta";
    const count = document.createElement("span");
    count.dataset.count = "";
    count.textContent = ev.variant_count;
    const sources = document.createElement("span");
    sources.dataset.sources = "";
    sources.textContent = "1";
    meta.append(ev.canonical.source || "", " · ", count, " variant(s) from ", sources, " outlet(s), just now");
    li.append(h2, meta);
    return li;
  }

  let fresh = 0;
  function onList(ev) {
    const list = $("#stories");
    if (new URLSearchParams(location.search).has("cursor")) return; // an older page stays as it was
    let row = $(`[data-story-id="${CSS.escape(ev.story_id)}"]`, list);
    if (!row && ev.canonical) {
      row = storyRow(ev);
      fresh += 1;
      const note = $("#new-stories");
      note.hidden = false;
      note.textContent = `${fresh} new stor${fresh === 1 ? "y" : "ies"} since you opened this page.`;
      announce(note.textContent);
      $("#no-stories")?.remove();
    }
    if (!row) return;
    if (ev.variant_count) $("[data-count]", row).textContent = ev.variant_count;
    if (ev.type === "story.canonical_changed" && ev.canonical) $("h2 a", row).textContent = ev.canonical.title;
    row.classList.add("fresh");
    list.prepend(row); // newest updated first
    recount();
  }

  // Outlet counts are not in the events: after a burst of them, read the first page of the list again.
  let recountTimer = null;
  function recount() {
    clearTimeout(recountTimer);
    recountTimer = setTimeout(async () => {
      const resp = await fetch("/v1/stories?limit=100");
      if (!resp.ok) return;
      for (const s of (await resp.json()).items) {
        const row = $(`[data-story-id="${CSS.escape(s.id)}"]`, $("#stories"));
        const sources = row && $("[data-sources]", row);
        if (sources) sources.textContent = s.source_count;
        if (row) $("[data-count]", row).textContent = s.variant_count;
      }
    }, 1000);
  }

  function onStory(ev) {
    if (ev.story_id !== document.body.dataset.storyId) return;
    if (ev.variant_count) document.querySelectorAll("[data-count]").forEach((el) => { el.textContent = ev.variant_count; });
    const note = $("#story-news");
    note.hidden = false;
    note.innerHTML = "";
    const link = document.createElement("a");
    link.href = location.pathname;
    link.textContent = "Reload to see them";
    note.append(`This story changed (${ev.type.replace("story.", "").replace("_", " ")}). `, link);
    announce("This story changed.");
  }

  // --- Writes: JSON to the API; a 401 asks for the key once and tries again. ---
  async function write(method, path, body) {
    const headers = {};
    const key = sessionStorage.getItem("apiKey");
    if (key) headers.Authorization = "Bearer " + key;
    if (!(body instanceof FormData) && body !== undefined) headers["Content-Type"] = "application/json";
    const resp = await fetch(path, { method, headers,
      body: body instanceof FormData || body === undefined ? body : JSON.stringify(body) });
    if (resp.status === 401) {
      const box = $("#key-box");
      box.hidden = false;
      const input = $("#api-key");
      if (input.value && input.value !== key) {
        sessionStorage.setItem("apiKey", input.value);
        return write(method, path, body);
      }
      input.focus();
      throw new Error("This service needs an API key to change anything: enter it above and try again.");
    }
    const data = resp.status === 204 ? {} : await resp.json();
    if (!resp.ok) throw new Error(data.detail || resp.statusText);
    return [resp.status, data];
  }

  function feedsPage() {
    const result = $("#form-result");
    const say = (text) => { result.textContent = text; };
    if (document.body.dataset.keys === "required" && !sessionStorage.getItem("apiKey")) $("#key-box").hidden = false;
    $("#add-feed").addEventListener("submit", async (e) => {
      e.preventDefault();
      const form = e.target;
      const body = { url: form.url.value.trim() };
      if (form.category.value.trim()) body.category = form.category.value.trim();
      try {
        const [status, feed] = await write("POST", "/v1/feeds", body);
        say(status === 201 ? `Added ${feed.url}: it is being fetched now.` : `${feed.url} was already a feed.`);
        form.reset();
        setTimeout(() => location.reload(), 1500);
      } catch (err) { say(err.message); }
    });
    $("#import-feeds").addEventListener("submit", async (e) => {
      e.preventDefault();
      const data = new FormData();
      data.append("file", $("#opml-file").files[0]);
      try {
        const [, report] = await write("POST", "/v1/feeds/import", data);
        say(`${report.added.length} added, ${report.existing.length} known already, ${report.refused.length} refused.`);
        setTimeout(() => location.reload(), 1500);
      } catch (err) { say(err.message); }
    });
    document.querySelectorAll("button[data-action]").forEach((button) => button.addEventListener("click", async () => {
      const id = button.closest("tr").dataset.feedId;
      try {
        await write("PATCH", "/v1/feeds/" + encodeURIComponent(id), { paused: button.dataset.action === "pause" });
        location.reload();
      } catch (err) { say(err.message); }
    }));
  }

  // --- Keyboard: j/k move between stories, / goes to the search box. ---
  function keys() {
    document.addEventListener("keydown", (e) => {
      if (e.target.matches("input, textarea") || e.ctrlKey || e.metaKey || e.altKey) return;
      const links = [...document.querySelectorAll(".story h2 a")];
      if (e.key === "/" && $("#q")) { e.preventDefault(); $("#q").focus(); return; }
      if ((e.key !== "j" && e.key !== "k") || !links.length) return;
      const at = links.indexOf(document.activeElement);
      const next = e.key === "j" ? Math.min(at + 1, links.length - 1) : Math.max(at - 1, 0);
      links[next].focus();
    });
  }

  keys();
  if (page === "stories" || page === "story") listen();
  if (page === "feeds") feedsPage();
})();
