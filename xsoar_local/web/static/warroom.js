// The War Room page: run a line on Enter, complete commands and arguments, refresh while a playbook runs.
// Every HTML fragment swapped in here was rendered (escaped, sanitized) by the server; text we build uses textContent.
"use strict";

// The log-in: a printed link's code is posted at once; a logged-in page remembers its root (per origin, so per
// port), which lets a link outside it (/WorkPlan/<id>) lead on to the page without the cookie being sent there.
(function () {
  const storageKey = "xsoar-local-root";
  const rootMeta = document.querySelector('meta[name="ui-root"]');
  if (rootMeta) {
    try { localStorage.setItem(storageKey, rootMeta.content); } catch (error) { /* storage off: links log in */ }
    return;
  }
  const codeForm = document.getElementById("code-form");
  if (codeForm && codeForm.dataset.autosubmit === "1") {
    codeForm.submit();
    return;
  }
  const login = document.getElementById("login-form");
  if (login && login.dataset.next) {
    let root = null;
    try {
      root = localStorage.getItem(storageKey);
      localStorage.removeItem(storageKey); // one try: a stale root (a restarted server) ends at this form
    } catch (error) { /* storage off */ }
    if (root && root.startsWith("/ui/s/")) window.location.replace(root + login.dataset.next);
  }
})();

(function () {
  const form = document.getElementById("command-form");
  if (!form) return;
  const input = form.elements.namedItem("command");
  const list = document.getElementById("suggestions");
  const status = document.getElementById("command-status");
  const runButton = document.getElementById("run");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const investigation = form.dataset.investigation;
  const query = form.dataset.incident === "1" ? "?incident=1" : "";
  const root = document.querySelector('meta[name="ui-root"]').content;
  const base = root + "/api/investigations/" + encodeURIComponent(investigation);

  function show(fragments) {
    const entries = document.getElementById("entries");
    entries.innerHTML = fragments.entries;
    entries.scrollTop = entries.scrollHeight;
    document.getElementById("context").innerHTML = fragments.context;
    const plan = document.getElementById("workplan");
    if (plan && fragments.workplan !== undefined) {
      plan.innerHTML = fragments.workplan;
      plan.dataset.running = fragments.running ? "1" : "0";
    }
  }

  function say(text, isError) {
    status.textContent = text;
    status.classList.toggle("error", Boolean(isError));
  }

  async function call(url, options) {
    const response = await fetch(url, Object.assign({ credentials: "same-origin" }, options));
    const body = await response.json().catch(() => ({ error: "the server answered " + response.status }));
    if (!response.ok) throw new Error(body.error || "the server answered " + response.status);
    return body;
  }

  async function run(line) {
    runButton.disabled = true;
    say("Running " + line + " …");
    try {
      show(await call(base + "/execute" + query, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ command: line }),
      }));
      input.value = "";
      say("");
      poll();
    } catch (error) {
      say(error.message, true);
    } finally {
      runButton.disabled = false;
      input.focus();
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    hide();
    const line = input.value.trim();
    if (line) run(line);
  });

  // ---- refresh while the playbook runs ----
  let polling = false;
  async function poll() {
    const plan = document.getElementById("workplan");
    if (!plan || polling || plan.dataset.running !== "1") return;
    polling = true;
    try {
      while (document.getElementById("workplan").dataset.running === "1") {
        await new Promise((resolve) => setTimeout(resolve, 700));
        show(await call(base + query));
      }
    } catch (error) {
      say("Refresh stopped: " + error.message, true);
    } finally {
      polling = false;
    }
  }
  poll();
  const entries = document.getElementById("entries");
  entries.scrollTop = entries.scrollHeight;

  // ---- completion: command names, argument names, predefined values ----
  let catalog = [];
  let items = [];
  let selected = -1;
  call(root + "/api/completions").then((data) => { catalog = data; }).catch(() => {});

  function currentToken(text) {
    // Where the token under the caret starts, unless the caret sits inside a quoted value.
    let quote = null;
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (quote) { if (c === quote) quote = null; continue; }
      if (c === '"' || c === "'" || c === "`") quote = c;
      else if (/\s/.test(c)) start = i + 1;
    }
    return { start, token: text.slice(start), inQuote: quote !== null };
  }

  function suggest() {
    const caret = input.selectionStart ?? input.value.length;
    const text = input.value.slice(0, caret);
    items = [];
    const head = text.match(/^!([^\s]*)$/);
    if (head) {
      const prefix = head[1].toLowerCase();
      const starts = catalog.filter((c) => c.name.toLowerCase().startsWith(prefix));
      const contains = catalog.filter((c) => !starts.includes(c) && c.name.toLowerCase().includes(prefix));
      items = starts.concat(contains).slice(0, 40).map((c) => ({
        label: c.name, info: (c.kind === "script" ? "script" : c.source) + " · " + (c.description || ""),
        replace: [0, caret], insert: "!" + c.name + " ",
      }));
    } else {
      const name = (text.match(/^!(\S+)\s/) || [])[1];
      const command = catalog.find((c) => c.name === name);
      const { start, token, inQuote } = currentToken(text);
      if (command && !(inQuote && !token.includes("="))) {
        const eq = token.indexOf("=");
        if (eq < 0) {
          const used = new Set([...text.matchAll(/(?:^|\s)([\w.-]+)=/g)].map((m) => m[1]));
          items = command.arguments
            .filter((a) => !used.has(a.name) && a.name.toLowerCase().startsWith(token.toLowerCase()))
            .map((a) => ({ label: a.name + "=", info: a.description || "", required: a.required,
                           replace: [start, caret], insert: a.name + "=" }));
        } else {
          const arg = command.arguments.find((a) => a.name === token.slice(0, eq));
          const typed = token.slice(eq + 1).replace(/^["'`]/, "").toLowerCase();
          items = ((arg && arg.predefined) || [])
            .filter((v) => String(v).toLowerCase().startsWith(typed))
            .map((v) => ({ label: String(v), info: arg.name, replace: [start, caret],
                           insert: arg.name + "=" + (/[\s"]/.test(String(v)) ? JSON.stringify(String(v)) : String(v)) + " " }));
        }
      }
    }
    selected = -1;
    render();
  }

  function render() {
    list.replaceChildren();
    if (!items.length) { hide(); return; }
    items.forEach((item, index) => {
      const li = document.createElement("li");
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", index === selected ? "true" : "false");
      li.dataset.value = item.label;
      const name = document.createElement("span");
      name.className = "s-name";
      name.textContent = item.label;
      li.append(name);
      if (item.required) {
        const req = document.createElement("span");
        req.className = "s-req";
        req.textContent = "required";
        li.append(req);
      }
      const info = document.createElement("span");
      info.className = "s-info";
      info.textContent = item.info;
      li.append(info);
      li.addEventListener("mousedown", (event) => { event.preventDefault(); accept(index); });
      list.append(li);
    });
    list.hidden = false;
    const current = list.children[selected];
    if (current) current.scrollIntoView({ block: "nearest" });
  }

  function hide() { list.hidden = true; items = []; selected = -1; }

  function accept(index) {
    const item = items[index];
    if (!item) return;
    const [from, to] = item.replace;
    input.value = input.value.slice(0, from) + item.insert + input.value.slice(to);
    const caret = from + item.insert.length;
    input.setSelectionRange(caret, caret);
    input.focus();
    suggest();
  }

  input.addEventListener("input", suggest);
  input.addEventListener("blur", () => setTimeout(hide, 100));
  input.addEventListener("keydown", (event) => {
    if (list.hidden || !items.length) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      selected = (selected + step + items.length) % items.length;
      render();
    } else if (event.key === "Tab" || (event.key === "Enter" && selected >= 0)) {
      event.preventDefault();
      accept(selected >= 0 ? selected : 0);
    } else if (event.key === "Escape") {
      hide();
    }
  });
})();
