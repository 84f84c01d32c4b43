// adcli serve: the page. It asks the server (adcli's JSON API) for every number and only
// draws: the graph where the server laid it out, the trace, the chain rule's sums, the
// paths, the descent. No framework, no build step, nothing from the network.
"use strict";

(() => {
  const SVG = "http://www.w3.org/2000/svg";
  const $ = (id) => document.getElementById(id);

  // ------------------------------------------------------------ small helpers

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function sv(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /** A number as the graph shows it: six significant digits ("nan" and "inf" come as text). */
  function fmt(v) {
    if (v === null || v === undefined) return "—";
    if (typeof v === "string") return v;
    if (Object.is(v, -0)) return "-0";
    if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
    const size = Math.abs(v);
    let text = size < 1e-4 || size >= 1e15 ? v.toExponential(5) : v.toPrecision(6);
    if (text.includes("e")) {
      const [mantissa, exponent] = text.split("e");
      return mantissa.replace(/\.?0+$/, "") + "e" + exponent;
    }
    return text.includes(".") ? text.replace(/\.?0+$/, "") : text;
  }

  /** A number in full, as Python's repr writes it (and adcli prints it): 2.0, 1e-07, 2.5403023058681398. */
  function full(v) {
    if (v === null || v === undefined) return "—";
    if (typeof v === "string") return v;
    if (v === 0) return Object.is(v, -0) ? "-0.0" : "0.0";
    const size = Math.abs(v);
    if (size >= 1e16 || size < 1e-4) {
      return v.toExponential().replace(/e([+-])(\d)$/, "e$10$2");
    }
    const text = String(v);
    return text.includes(".") ? text : text + ".0";
  }

  /** A local partial as adcli prints it: "cos(w1) = 0.5403023058681398", or "1" when the
   * formula is the number. */
  function partialText(form, value) {
    if (form === null || form === undefined) return full(value);
    if (form === fmt(value) || form === full(value)) return form;
    return form + " = " + full(value);
  }

  function debounce(fn, ms) {
    let timer = null;
    return (...args) => {
      clearTimeout(timer);
      timer = setTimeout(() => fn(...args), ms);
    };
  }

  class ApiError extends Error {
    constructor(error, status) {
      super(error.message);
      this.error = error;
      this.status = status;
    }
  }

  async function api(name, body) {
    let response;
    try {
      response = await fetch("/api/" + name, {
        method: "POST",
        headers: {"Content-Type": "application/json"},
        body: JSON.stringify(body),
      });
    } catch (_) {
      $("connection").textContent = "cannot reach adcli serve: is it still running?";
      throw new ApiError({kind: "Network", message: "cannot reach adcli serve: is it still running?"}, 0);
    }
    if (state.info) $("connection").textContent = "adcli " + state.info.version;
    if (name === "svg" && response.ok) return response.text();
    let data;
    try {
      data = await response.json();
    } catch (_) {
      throw new ApiError({kind: "Http", message: "the server answered " + response.status}, response.status);
    }
    if (!response.ok) throw new ApiError(data.error, response.status);
    return data;
  }

  /** At most one request in flight; while it is, only the latest call waits its turn. */
  function latest(fn) {
    let running = false;
    let pending = null;
    const go = async (args) => {
      running = true;
      try {
        await fn(...args);
      } finally {
        running = false;
        if (pending) {
          const next = pending;
          pending = null;
          go(next);
        }
      }
    };
    return (...args) => {
      if (running) pending = args;
      else go(args);
    };
  }

  // ------------------------------------------------------------ state

  const state = {
    info: null,
    expression: "",      // the text that last parsed
    variables: [],       // its variables, in order
    fields: new Map(),   // name -> {input, slider}
    data: null,          // the last /api/trace answer
    layout: null,        // its layout (kept while only values change)
    step: 0,             // see total()
    timer: null,         // play
    zoom: null,          // null: fit the width
    input: null,         // the input whose paths are shown
    term: null,          // the one path picked among them
    descent: null,       // the current run (see below)
  };

  const byNode = () => {
    const map = new Map();
    if (state.data) for (const node of state.data.graph.nodes) map.set(node.id, node);
    return map;
  };
  const rows = () => (state.data ? state.data.trace.nodes : []);
  const total = () => (rows().length ? 2 * rows().length + 1 : 0);
  // Steps: 0 is the start; 1 .. n the forward pass (w1 .. wn); n+1 .. 2n the backward pass
  // (wn .. w1); 2n+1 both passes done.

  // ------------------------------------------------------------ the expression

  const expressionBox = $("expression");
  const expressionError = $("expression-error");
  const pointError = $("point-error");

  function showError(target, error) {
    if (!error) {
      target.hidden = true;
      target.textContent = "";
      return;
    }
    target.hidden = false;
    target.textContent = "error: " + error.message;
  }

  const checkExpression = latest(async (text) => {
    let parsed;
    try {
      parsed = await api("parse", {expression: text});
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (text !== expressionBox.value) return;  // typed on meanwhile
      expressionBox.classList.add("invalid");
      showError(expressionError, error.error);
      $("graph-wrap").classList.add("stale");
      return;
    }
    if (text !== expressionBox.value) return;
    expressionBox.classList.remove("invalid");
    showError(expressionError, null);
    const changed = text !== state.expression;
    state.expression = text;
    setVariables(parsed.variables, {});
    if (changed) {
      state.layout = null;
      state.input = null;
      state.term = null;
      resetRun();
    }
    refresh(true);
  });

  expressionBox.addEventListener("input", debounce(() => checkExpression(expressionBox.value), 150));
  // The box grows with a program's lines (up to a point; then it scrolls).
  const fitBox = () => { expressionBox.rows = Math.min(10, Math.max(2, expressionBox.value.split("\n").length)); };
  expressionBox.addEventListener("input", fitBox);

  // ------------------------------------------------------------ the variables

  function sliderRange(slider, value) {
    const half = Math.max(2, 2 * Math.abs(value));
    slider.min = String(value - half);
    slider.max = String(value + half);
    slider.step = String(half / 200);
  }

  function setVariables(names, values) {
    const box = $("variables");
    const old = state.fields;
    state.fields = new Map();
    state.variables = names;
    box.textContent = "";
    for (const name of names) {
      let field = old.get(name);
      if (!field) {
        const id = "var-" + names.indexOf(name) + "-" + Math.random().toString(36).slice(2, 7);
        const input = el("input", {type: "text", id, "data-variable": name, spellcheck: "false",
          "aria-label": "value of " + name});
        const slider = el("input", {type: "range", "data-variable": name,
          "aria-label": "slide the value of " + name});
        const start = name in values ? values[name] : 1;
        input.value = typeof start === "number" ? full(start) : String(start);
        sliderRange(slider, typeof start === "number" ? start : 1);
        slider.value = String(typeof start === "number" ? start : 1);
        input.addEventListener("input", debounce(() => { resetRun(); refresh(false); }, 120));
        input.addEventListener("change", () => {
          const value = state.data && state.data.point[name];
          if (typeof value === "number") { sliderRange(slider, value); slider.value = String(value); }
        });
        slider.addEventListener("input", () => {
          input.value = slider.value;
          resetRun();
          refresh(false);
        });
        field = {input, slider, label: el("label", {for: id}, name)};
      } else if (name in values) {
        field.input.value = full(values[name]);
      }
      const row = el("div", {class: "variable"});
      row.append(field.label, field.input, field.slider);
      box.append(row);
      state.fields.set(name, field);
    }
  }

  function pointText() {
    const point = {};
    for (const [name, field] of state.fields) point[name] = field.input.value.trim() || "0";
    return point;
  }

  /** Ask for the numbers at the current point (and the layout, for a new program). */
  const refresh = latest(async (withLayout) => {
    if (!state.expression) return;
    const asked = state.expression;
    const body = {expression: asked, point: pointText(), layout: withLayout || !state.layout};
    let data;
    try {
      data = await api("trace", body);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      showError(pointError, error.error);
      markFields(error.error);
      return;
    }
    if (asked !== state.expression) return;
    showError(pointError, null);
    markFields(null);
    const fresh = !!data.layout;
    if (data.layout) state.layout = data.layout;
    state.data = data;
    for (const [name, field] of state.fields) {
      const value = data.point[name];
      if (typeof value === "number" && document.activeElement !== field.slider) {
        if (value < Number(field.slider.min) || value > Number(field.slider.max)) sliderRange(field.slider, value);
        field.slider.value = String(value);
      }
    }
    $("graph-wrap").classList.remove("stale");
    if (fresh) {
      state.step = total();
      drawGraph();
    }
    state.step = Math.min(state.step, total());
    render();
    renderDescentTable();
    // What is shown, for whoever watches the page (the browser tests wait on these).
    document.body.dataset.shown = asked;
    document.body.dataset.point = JSON.stringify(data.point);
    drawContour(state.descent);
  });

  function markFields(error) {
    for (const [name, field] of state.fields) {
      const bad = !!error && error.message.includes("'" + name + "'");
      field.input.classList.toggle("invalid", bad);
    }
  }

  function renderSummary() {
    const box = $("summary");
    box.textContent = "";
    const data = state.data;
    if (!data) return;
    box.append(el("span", {class: "value"}, "f = " + full(data.value)));
    for (const [name, value] of Object.entries(data.gradient)) {
      box.append(el("span", {class: "gradient", "data-variable": name}, "∂f/∂" + name + " = " + full(value)));
    }
    if (data.nonfinite) box.append(el("div", {class: "muted"}, "non-finite: the first came from " + data.nonfinite));
  }

  // ------------------------------------------------------------ the graph

  const graph = $("graph");
  let drawn = null;  // id -> {group, texts}, edges -> [{path, label}]

  function curve(points) {
    // Straight along a layer, an S-curve across the gap between layers (as adcli's SVG draws).
    let [x0, y0] = points[0];
    const parts = [`M${x0},${y0}`];
    for (const [x1, y1] of points.slice(1)) {
      if (Math.abs(y1 - y0) < 0.05) parts.push(`L${x1},${y1}`);
      else {
        const mx = (x0 + x1) / 2;
        parts.push(`C${mx},${y0} ${mx},${y1} ${x1},${y1}`);
      }
      x0 = x1;
      y0 = y1;
    }
    return parts.join(" ");
  }

  function drawGraph() {
    const layout = state.layout;
    const nodes = byNode();
    graph.textContent = "";
    const pad = 12;
    const width = layout.width + 2 * pad;
    const height = layout.height + 2 * pad;
    graph.setAttribute("viewBox", `${-pad} ${-pad} ${width} ${height}`);
    graph.dataset.width = String(width);
    graph.dataset.height = String(height);
    const defs = sv("defs");
    const marker = sv("marker", {id: "arrow", viewBox: "0 0 10 10", refX: "10", refY: "5",
      markerWidth: "9", markerHeight: "9", markerUnits: "userSpaceOnUse", orient: "auto"});
    marker.append(sv("path", {d: "M0,0 L10,5 L0,10 z"}));
    defs.append(marker);
    graph.append(defs);
    const edgeGroup = sv("g", {class: "edges"});
    const labelGroup = sv("g", {class: "edge-labels"});
    const nodeGroup = sv("g", {class: "nodes"});
    graph.append(edgeGroup, labelGroup, nodeGroup);
    drawn = {nodes: new Map(), edges: []};
    layout.edges.forEach((edge, i) => {
      const data = state.data.graph.edges[i];
      const classes = ["edge"];
      if (data.local_partial === null) classes.push("no-gradient");
      if (edge.shortcut) classes.push("shortcut");
      const path = sv("path", {d: curve(edge.points), class: classes.join(" "), "marker-end": "url(#arrow)",
        "data-from": edge.from, "data-to": edge.to});
      edgeGroup.append(path);
      let label = null;
      if (edge.label && data.local_partial !== null) {
        const back = sv("rect", {class: "edge-label-back"});
        label = sv("text", {x: edge.label[0], y: edge.label[1] + 3.5, class: "edge-label"});
        labelGroup.append(back, label);
        label.back = back;
      }
      drawn.edges.push({path, label, edge, index: i});
    });
    for (const placed of layout.nodes) {
      const node = nodes.get(placed.id);
      const classes = ["node", node.kind];
      if (node.id === state.data.graph.output) classes.push("output");
      const group = sv("g", {class: classes.join(" "), "data-node": node.id});
      const left = placed.x - placed.width / 2;
      const top = placed.y - placed.height / 2;
      const radius = node.kind === "variable" ? placed.height / 2 : 6;
      group.append(sv("rect", {x: left, y: top, width: placed.width, height: placed.height, rx: radius}));
      const lines = node.kind === "constant" ? (placed.height > 30 ? 2 : 1) : 3;
      const texts = [];
      for (let i = 0; i < lines; i++) {
        const y = placed.y + (i - (lines - 1) / 2) * 15 + 4;
        const text = sv("text", {x: placed.x, y});
        texts.push(text);
        group.append(text);
      }
      texts[0].textContent = placed.title;
      texts[0].classList.add("title");
      if (texts[2]) texts[2].classList.add("adjoint");
      group.append(sv("title", {}, placed.title));
      group.addEventListener("click", () => {
        const row = rows().find((r) => r.node === node.id);
        if (row) goTo(row.node);
      });
      nodeGroup.append(group);
      drawn.nodes.set(node.id, {group, texts, placed});
    }
    applyZoom();
  }

  /** Scroll the graph so that the node is in sight (a big graph is wider than its panel). */
  function showNode(id) {
    const item = drawn && drawn.nodes.get(id);
    if (!item) return;
    const wrap = $("graph-wrap");
    const zoom = currentZoom();
    const pad = 12;
    const x = (item.placed.x + pad) * zoom;
    const y = (item.placed.y + pad) * zoom;
    const half = (item.placed.width / 2 + 20) * zoom;
    if (x - half < wrap.scrollLeft || x + half > wrap.scrollLeft + wrap.clientWidth) {
      wrap.scrollLeft = Math.max(0, x - wrap.clientWidth / 2);
    }
    if (y < wrap.scrollTop || y > wrap.scrollTop + wrap.clientHeight) {
      wrap.scrollTop = Math.max(0, y - wrap.clientHeight / 2);
    }
  }

  function applyZoom() {
    const width = Number(graph.dataset.width || 0);
    const height = Number(graph.dataset.height || 0);
    if (!width) return;
    const room = $("graph-wrap").clientWidth - 2;
    // Fit the width, but never so small that the numbers cannot be read: then it scrolls.
    const zoom = state.zoom === null ? Math.max(0.6, Math.min(1.25, room / width)) : state.zoom;
    graph.setAttribute("width", String(Math.round(width * zoom)));
    graph.setAttribute("height", String(Math.round(height * zoom)));
  }

  $("zoom-in").addEventListener("click", () => { state.zoom = currentZoom() * 1.25; applyZoom(); });
  $("zoom-out").addEventListener("click", () => { state.zoom = currentZoom() / 1.25; applyZoom(); });
  $("zoom-fit").addEventListener("click", () => { state.zoom = null; applyZoom(); });
  window.addEventListener("resize", debounce(applyZoom, 100));

  function currentZoom() {
    const width = Number(graph.dataset.width || 1);
    return Number(graph.getAttribute("width") || width) / width;
  }

  // ------------------------------------------------------------ stepping

  /** Where the step puts us: how many values and adjoints are known, and the current node. */
  function position() {
    const list = rows();
    const n = list.length;
    const s = state.step;
    const forward = Math.min(s, n);
    const backward = Math.min(n, Math.max(0, s - n));
    let current = null;
    let phase = "start";
    if (s >= 1 && s <= n) { current = list[s - 1].node; phase = "forward"; }
    else if (s > n && s <= 2 * n) { current = list[2 * n - s].node; phase = "backward"; }
    else if (s > 2 * n) phase = "done";
    const valued = new Set(list.slice(0, forward).map((r) => r.node));
    const adjointed = new Set(list.slice(n - backward).map((r) => r.node));
    return {n, s, phase, current, valued, adjointed, backwardCurrent: phase === "backward"};
  }

  function render() {
    if (!state.data || !drawn) return;
    const at = position();
    renderSummary();
    renderNodes(at);
    renderTrace(at);
    renderExplain(at);
    if (at.current) showNode(at.current);
    renderPaths();
    renderPathInputs();
    $("step-label").textContent = at.phase === "start" ? "start"
      : at.phase === "done" ? "done"
      : `${at.phase} ${at.phase === "forward" ? at.s : at.s - at.n}/${at.n} · ${at.current}`;
    $("to-start").disabled = $("step-back").disabled = at.s === 0;
    $("to-end").disabled = $("step-forward").disabled = at.s >= total();
  }

  function renderNodes(at) {
    const nodes = byNode();
    const chain = state.data.chain_rule;
    const operands = new Set();
    const consumers = new Set();
    const forwardEdges = new Set();
    const backwardEdges = new Set();
    if (at.current && !at.backwardCurrent) {
      for (const arg of nodes.get(at.current).arguments) operands.add(arg);
      drawn.edges.forEach((e) => { if (e.edge.to === at.current) forwardEdges.add(e.index); });
    }
    if (at.current && at.backwardCurrent && chain[at.current]) {
      for (const term of chain[at.current].terms) consumers.add(term.consumer);
      drawn.edges.forEach((e) => {
        if (e.edge.from === at.current && state.data.graph.edges[e.index].local_partial !== null) {
          backwardEdges.add(e.index);
        }
      });
    }
    const path = pathHighlight();
    for (const [id, item] of drawn.nodes) {
      const node = nodes.get(id);
      const [, value, adjoint] = item.texts;
      const known = node.kind === "constant" || at.valued.has(id);
      if (value) {
        value.textContent = "value " + (known ? fmt(node.value) : "?");
        value.classList.toggle("pending", !known);
      }
      if (adjoint) {
        const has = at.adjointed.has(id);
        adjoint.textContent = `∂f/∂${id} ` + (has ? fmt(node.gradient) : "?");
        adjoint.classList.toggle("pending", !has);
        adjoint.dataset.full = has ? full(node.gradient) : "";
      }
      if (value) value.dataset.full = known ? full(node.value) : "";
      const group = item.group;
      group.classList.toggle("current-forward", at.current === id && !at.backwardCurrent);
      group.classList.toggle("current-backward", at.current === id && at.backwardCurrent);
      group.classList.toggle("operand", operands.has(id));
      group.classList.toggle("consumer", consumers.has(id));
      group.classList.toggle("on-path", path.nodes.has(id));
    }
    for (const item of drawn.edges) {
      const data = state.data.graph.edges[item.index];
      item.path.classList.toggle("forward", forwardEdges.has(item.index));
      item.path.classList.toggle("backward", backwardEdges.has(item.index));
      item.path.classList.toggle("on-path", path.edges.has(item.index));
      if (item.label) {
        const form = item.edge.form;
        item.label.textContent = `∂${item.edge.to}/∂${item.edge.from} = ` + (form ? form + " = " : "")
          + fmt(data.local_partial);
        for (const name of ["forward", "backward", "on-path"]) {
          item.label.classList.toggle(name, item.path.classList.contains(name));
        }
        const box = item.label.getBBox();
        item.label.back.setAttribute("x", box.x - 2);
        item.label.back.setAttribute("y", box.y - 1);
        item.label.back.setAttribute("width", box.width + 4);
        item.label.back.setAttribute("height", box.height + 2);
      }
    }
  }

  function renderTrace(at) {
    const body = $("trace").tBodies[0];
    body.textContent = "";
    const path = pathHighlight();
    for (const row of rows()) {
      const tr = el("tr", {"data-node": row.node});
      const known = at.valued.has(row.node);
      const has = at.adjointed.has(row.node);
      if (!known) tr.classList.add("pending");
      if (!has) tr.classList.add("pending-adjoint");
      if (at.current === row.node) tr.classList.add(at.backwardCurrent ? "current-backward" : "current-forward");
      if (path.nodes.has(row.node)) tr.classList.add("on-path");
      tr.append(el("td", {class: "node"}, row.node + (row.name && row.op !== null ? ` (${row.name})` : "")));
      tr.append(el("td", {class: "definition"}, row.definition));
      tr.append(el("td", {class: "number value"}, known ? full(row.value) : "·"));
      tr.append(el("td", {class: "number adjoint"}, has ? full(row.adjoint) : "·"));
      tr.addEventListener("click", () => goTo(row.node));
      body.append(tr);
      const partials = row.partials.filter((p) => p.value !== null);
      if (partials.length) {
        const under = el("tr", {class: "partials" + (tr.className ? " " + tr.className : "")});
        const cell = el("td", {colspan: "4"});
        for (const p of partials) {
          cell.append(el("span", {class: "partial"}, `∂${row.node}/∂${p.operand} = ${partialText(p.form, p.value)}`));
        }
        under.append(cell);
        under.addEventListener("click", () => goTo(row.node));
        body.append(under);
      }
    }
    const current = body.querySelector("tr.current-forward, tr.current-backward");
    if (current && state.timer) current.scrollIntoView({block: "nearest"});
  }

  function renderExplain(at) {
    const box = $("explain");
    box.textContent = "";
    box.className = at.phase === "forward" ? "forward" : at.phase === "backward" ? "backward" : "";
    if (at.n === 0) {
      box.append(el("div", {}, "f is a constant: there is nothing to compute step by step, and no gradient."));
      return;
    }
    if (at.phase === "start") {
      box.append(el("div", {}, `Before the passes. ▶| runs the forward pass: each node's value from ` +
        `its arguments, in the trace's order w1 … w${at.n}; then the backward pass: each node's ` +
        `adjoint ∂f/∂w from the nodes that use it, from w${at.n} back to w1.`));
      return;
    }
    if (at.phase === "done") {
      const parts = Object.entries(state.data.gradient).map(([k, v]) => `∂f/∂${k} = ${full(v)}`);
      box.append(el("div", {}, `Both passes done: f = ${full(state.data.value)}` +
        (parts.length ? "; " + parts.join(", ") : "") + ". Click a node or a row to go to its step."));
      return;
    }
    const row = rows().find((r) => r.node === at.current);
    if (at.phase === "forward") {
      const values = new Map(rows().map((r) => [r.node, r.value]));
      if (row.op === null) {
        box.append(el("div", {}, `forward: ${row.node} = ${row.definition} = ${full(row.value)}`),
          el("div", {class: "rule"}, "an input: its value is given"));
      } else {
        const plugged = row.definition.replace(/w(\d+)/g, (m) => fmt(values.get(m)));
        box.append(el("div", {}, `forward: ${row.node} = ${row.definition} = ${plugged} = ${full(row.value)}`));
        const partials = row.partials.filter((p) => p.value !== null)
          .map((p) => `∂${row.node}/∂${p.operand} = ${p.form && p.form !== fmt(p.value) ? p.form + " = " : ""}${fmt(p.value)}`);
        if (partials.length) box.append(el("div", {class: "rule"}, "local partials, kept for the backward pass: " + partials.join(", ")));
      }
      return;
    }
    const sum = state.data.chain_rule[at.current];
    if (!sum) {
      box.append(el("div", {}, `backward: ${at.current} has no adjoint: it depends on no input`));
      return;
    }
    if (sum.seed) {
      box.append(el("div", {}, `backward: ∂f/∂${at.current} = 1`),
        el("div", {class: "rule"}, `${at.current} is the output f itself: the backward pass starts from 1`));
      return;
    }
    const terms = sum.terms;
    const shown = terms.slice(0, 8);
    const more = terms.length - shown.length;
    const table = el("table");
    const line = (first, cells) => {
      const tr = el("tr");
      tr.append(el("td", {}, first));
      cells.forEach((cell, i) => {
        if (i > 0) tr.append(el("td", {class: "op"}, "+"));
        tr.append(el("td", {}, cell));
      });
      if (more > 0) tr.append(el("td", {class: "op"}, `+ … ${more} more`));
      table.append(tr);
    };
    const nth = (t) => terms.filter((u) => u.consumer === t.consumer).length > 1 ? ` (argument ${t.argument + 1})` : "";
    line(`∂f/∂${at.current} =`, shown.map((t) => `∂f/∂${t.consumer}·∂${t.consumer}/∂${at.current}${nth(t)}`));
    const factor = (form) => (/[ +-]/.test(form) ? "(" + form + ")" : form);
    const number = (v) => (typeof v === "number" && v < 0 ? `(${fmt(v)})` : fmt(v));
    line("=", shown.map((t) => `${number(t.consumer_adjoint)}·${t.local_partial_form && t.local_partial_form !== fmt(t.local_partial) ? factor(t.local_partial_form) : number(t.local_partial)}`));
    line("=", shown.map((t) => `${number(t.consumer_adjoint)}·${number(t.local_partial)}`));
    const result = el("tr");
    result.append(el("td", {}, "="), el("td", {class: "sum"}, full(sum.adjoint)));
    table.append(result);
    const users = [...new Set(terms.map((t) => t.consumer))].join(", ");
    box.append(el("div", {class: "rule"}, terms.length === 1
      ? `backward: ${at.current} is used once, by ${users}: its adjoint is ${users}'s adjoint times the local partial (the chain rule)`
      : `backward: ${at.current} is used ${terms.length} times (by ${users}): its adjoint is the sum over its uses ` +
        "of the user's adjoint times the local partial (the chain rule)"), table);
  }

  function goTo(id) {
    // A click on a node or a row: its step in the pass we are in (the backward pass once the
    // forward one is over).
    const list = rows();
    const index = list.findIndex((r) => r.node === id);
    if (index < 0) return;
    const n = list.length;
    stop();
    stepTo(state.step > n ? 2 * n - index : index + 1);
  }

  function stepTo(s) {
    state.step = Math.max(0, Math.min(total(), s));
    render();
  }

  function stop() {
    if (state.timer) clearInterval(state.timer);
    state.timer = null;
    $("play").textContent = "▶ play";
  }

  function play() {
    if (state.timer) { stop(); return; }
    if (state.step >= total()) state.step = 0;
    $("play").textContent = "‖ pause";
    render();
    state.timer = setInterval(() => {
      if (state.step >= total()) { stop(); render(); return; }
      stepTo(state.step + 1);
    }, 800);
  }

  $("to-start").addEventListener("click", () => { stop(); stepTo(0); });
  $("step-back").addEventListener("click", () => { stop(); stepTo(state.step - 1); });
  $("step-forward").addEventListener("click", () => { stop(); stepTo(state.step + 1); });
  $("to-end").addEventListener("click", () => { stop(); stepTo(total()); });
  $("play").addEventListener("click", play);
  document.addEventListener("keydown", (event) => {
    const tag = (event.target.tagName || "").toLowerCase();
    if (["input", "textarea", "select", "button"].includes(tag) || event.altKey || event.ctrlKey || event.metaKey) return;
    const keys = {ArrowRight: () => stepTo(state.step + 1), ArrowLeft: () => stepTo(state.step - 1),
      Home: () => stepTo(0), End: () => stepTo(total()), " ": play};
    if (keys[event.key]) {
      event.preventDefault();
      if (event.key !== " ") stop();
      keys[event.key]();
    }
  });

  // ------------------------------------------------------------ paths

  function pathsOf(name) {
    return state.data && state.data.trace.paths[name];
  }

  /** The nodes and edges (indices) of the picked input's paths, or of the one picked path. */
  function pathHighlight() {
    const result = {nodes: new Set(), edges: new Set()};
    const entry = state.input && pathsOf(state.input);
    if (!entry || !drawn) return result;
    const terms = state.term !== null && entry.terms[state.term] ? [entry.terms[state.term]] : entry.terms;
    for (const term of terms) {
      term.nodes.forEach((id, i) => {
        result.nodes.add(id);
        if (i === 0) return;
        const from = term.nodes[i - 1];
        for (const item of drawn.edges) {
          if (item.edge.from === from && item.edge.to === id) result.edges.add(item.index);
        }
      });
    }
    return result;
  }

  function renderPathInputs() {
    const box = $("path-inputs");
    const names = state.data ? Object.keys(state.data.trace.paths) : [];
    const have = Array.from(box.children).map((b) => b.dataset.variable).join(",");
    if (have !== names.join(",")) {
      box.textContent = "";
      for (const name of names) {
        const button = el("button", {"data-variable": name}, `∂f/∂${name}`);
        button.addEventListener("click", () => {
          state.input = state.input === name ? null : name;
          state.term = null;
          render();
        });
        box.append(button);
      }
    }
    for (const button of box.children) button.classList.toggle("selected", button.dataset.variable === state.input);
  }

  function renderPaths() {
    const box = $("paths");
    box.textContent = "";
    const entry = state.input && pathsOf(state.input);
    if (!entry) {
      if (state.input) state.input = null;
      return;
    }
    const count = entry.path_count;
    const head = entry.grouped_by_first_edge
      ? `${count.toLocaleString()} paths lead from ${entry.node} (${state.input}) to the output: too many to list, ` +
        `so they are grouped by their first edge: each term is ∂wj/∂${entry.node} · ∂f/∂wj.`
      : `${count} path${count === 1 ? "" : "s"} from ${entry.node} (${state.input}) to the output ${state.data.trace.output}:`;
    box.append(el("div", {class: "note"}, head));
    entry.terms.forEach((term, i) => {
      const text = `${term.nodes.join(" → ")}: ${term.factors.join("·")} = ${full(term.value)}`;
      const line = el("div", {class: "term" + (state.term === i ? " selected" : ""), "data-term": String(i)}, text);
      line.addEventListener("mouseenter", () => { state.term = i; renderNodes(position()); markTerm(); });
      line.addEventListener("mouseleave", () => { state.term = null; renderNodes(position()); markTerm(); });
      box.append(line);
    });
    const total = el("div", {class: "total"});
    total.append(el("div", {class: "sum"}, `sum of the terms = ${full(entry.sum)}`),
      el("div", {class: "gradient"}, `∂f/∂${state.input} by backpropagation = ${full(entry.gradient)}`));
    box.append(total);
  }

  function markTerm() {
    for (const line of $("paths").querySelectorAll(".term")) {
      line.classList.toggle("selected", Number(line.dataset.term) === state.term);
    }
  }

  // ------------------------------------------------------------ export

  $("export-svg").addEventListener("click", async () => {
    if (!state.expression) return;
    try {
      const text = await api("svg", {expression: state.expression, point: pointText()});
      const url = URL.createObjectURL(new Blob([text], {type: "image/svg+xml"}));
      const link = el("a", {href: url, download: "adcli-graph.svg"});
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      showError(pointError, error.error);
    }
  });

  // ------------------------------------------------------------ descent

  const optimizerBox = $("optimizer");
  const lrBox = $("lr");
  let moving = false;  // the descent is setting the fields: that is no new start

  function resetRun() {
    if (moving) return;
    state.descent = null;
    stopRun();
    renderDescent();
  }

  function newRun() {
    const settings = {};
    const lr = Number(lrBox.value);
    if (lrBox.value.trim() !== "" && Number.isFinite(lr)) settings.lr = lr;
    return {
      start: pointText(), optimizer: optimizerBox.value, settings, done: 0, records: [],
      finished: false, message: "", startPoint: state.data ? {...state.data.point} : {},
      contour: null, running: false, error: null,
    };
  }

  async function descendSteps() {
    if (!state.expression || !state.data) return false;
    if (!state.descent) state.descent = newRun();
    const run = state.descent;
    if (run.finished) return false;
    const steps = Number($("descent-steps").value);
    let data;
    try {
      data = await api("descend", {expression: state.expression, start: run.start,
        optimizer: run.optimizer, settings: run.settings, done: run.done, steps});
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      run.error = error.error.message;
      renderDescent();
      return false;
    }
    if (state.descent !== run) return false;
    run.error = null;
    run.free = data.free;
    if (run.records.length === 0) run.startPoint = data.start;
    for (const record of data.records) {
      const last = run.records[run.records.length - 1];
      if (!last || record[0] > last[0]) run.records.push(record);
    }
    if (run.records.length > 4000) run.records = run.records.filter((_, i) => i % 2 === 0 || i === run.records.length - 1);
    run.done = data.step;
    run.finished = data.finished;
    run.message = data.message;
    run.update = data;
    // The point moves: the fields follow, and the graph shows the numbers there.
    moving = true;
    for (const [name, value] of Object.entries(data.point)) {
      const field = state.fields.get(name);
      if (field) field.input.value = full(value);
    }
    moving = false;
    refresh(false);
    renderDescent();
    return !run.finished;
  }

  function stopRun() {
    if (state.descent) state.descent.running = false;
    $("descent-run").textContent = "▶ run";
  }

  $("descent-step").addEventListener("click", () => { stopRun(); descendSteps(); });
  $("descent-run").addEventListener("click", async () => {
    if (state.descent && state.descent.running) { stopRun(); return; }
    if (!state.descent) state.descent = newRun();
    const run = state.descent;
    run.running = true;
    $("descent-run").textContent = "‖ pause";
    while (run.running && state.descent === run) {
      const more = await descendSteps();
      if (!more) break;
      await new Promise((resolve) => setTimeout(resolve, 60));
    }
    if (state.descent === run) stopRun();
  });
  $("descent-reset").addEventListener("click", () => { state.descent = null; stopRun(); renderDescent(); });
  optimizerBox.addEventListener("change", () => {
    const rule = state.info.optimizers[optimizerBox.value];
    lrBox.value = String(rule.defaults.lr);
    resetRun();
  });
  lrBox.addEventListener("input", () => resetRun());

  function renderDescent() {
    const run = state.descent;
    const status = $("descent-status");
    status.classList.toggle("error", !!(run && run.error));
    if (!run || (!run.records.length && !run.error)) {
      status.textContent = "from the values above; press step or run";
    } else if (run.error) {
      status.textContent = "error: " + run.error;
    } else {
      const last = run.records[run.records.length - 1];
      status.textContent = `step ${run.done.toLocaleString()} · loss ${full(last[1])} · ‖∇f‖ ${fmt(last[2])}` +
        (run.finished ? ` · ${run.message}` : "");
    }
    const rule = state.info && state.info.optimizers[optimizerBox.value];
    $("descent-update").textContent = rule ? `${optimizerBox.value}: ${rule.update}` : "";
    $("descent-step").disabled = !!(run && run.finished);
    $("descent-run").disabled = !!(run && run.finished);
    renderDescentTable();
    drawLoss();
  }

  function renderDescentTable() {
    const body = $("descent-table").tBodies[0];
    body.textContent = "";
    if (!state.data) return;
    const run = state.descent;
    for (const name of state.variables) {
      const tr = el("tr");
      const start = run && run.records.length ? run.startPoint[name] : state.data.point[name];
      tr.append(el("td", {}, name), el("td", {}, fmt(start)), el("td", {}, fmt(state.data.point[name])),
        el("td", {}, fmt(state.data.gradient[name])));
      body.append(tr);
    }
  }

  function drawLoss() {
    const box = $("loss");
    box.textContent = "";
    const width = 320, height = 200, left = 62, right = 10, top = 10, bottom = 24;
    box.setAttribute("viewBox", `0 0 ${width} ${height}`);
    const run = state.descent;
    const points = run ? run.records.filter((r) => typeof r[1] === "number" && Number.isFinite(r[1])) : [];
    box.append(sv("line", {x1: left, y1: height - bottom, x2: width - right, y2: height - bottom, class: "axis"}),
      sv("line", {x1: left, y1: top, x2: left, y2: height - bottom, class: "axis"}));
    if (points.length < 1) {
      box.append(sv("text", {x: width / 2, y: height / 2, "text-anchor": "middle"}, "no steps yet"));
      return;
    }
    const log = points.every((r) => r[1] > 0);
    const ys = points.map((r) => (log ? Math.log10(r[1]) : r[1]));
    const xs = points.map((r) => r[0]);
    let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
    if (y1 - y0 < 1e-12) { y0 -= 0.5; y1 += 0.5; }
    const [x0, x1] = [xs[0], Math.max(xs[xs.length - 1], xs[0] + 1)];
    const px = (x) => left + (x - x0) / (x1 - x0) * (width - left - right);
    const py = (y) => height - bottom - (y - y0) / (y1 - y0) * (height - top - bottom);
    const d = points.map((r, i) => `${i ? "L" : "M"}${px(xs[i]).toFixed(1)},${py(ys[i]).toFixed(1)}`).join(" ");
    box.append(sv("path", {d, class: "curve"}));
    const short = (v) => {
      if (v === 0 || !Number.isFinite(v)) return String(v);
      const size = Math.abs(v);
      return size < 1e-3 || size >= 1e5 ? v.toExponential(2) : String(Number(v.toPrecision(3)));
    };
    const label = (v) => short(log ? 10 ** v : v);
    box.append(sv("text", {x: left - 4, y: top + 8, "text-anchor": "end"}, label(y1)),
      sv("text", {x: left - 4, y: height - bottom, "text-anchor": "end"}, label(y0)),
      sv("text", {x: left, y: height - 8}, String(x0)),
      sv("text", {x: width - right, y: height - 8, "text-anchor": "end"}, String(x1)),
      sv("text", {x: (left + width) / 2, y: height - 8, "text-anchor": "middle"}, log ? "step (loss on a log scale)" : "step"));
  }

  // The contour map: values on a grid from the server, coloured by rank and traced into level
  // lines here (drawing), with the descent's path on top.
  async function drawContour(run) {
    const canvas = $("contour");
    const figure = $("contour-figure");
    const caption = $("contour-caption");
    const context = canvas.getContext("2d");
    const free = run ? run.free || [] : state.variables;
    if (free.length !== 2) {
      context.clearRect(0, 0, canvas.width, canvas.height);
      figure.hidden = true;
      caption.textContent = "";
      return;
    }
    figure.hidden = false;
    await fetchContour(run);
  }

  function bounds(run) {
    const [a, b] = run && run.free ? run.free : state.variables;
    const xs = [], ys = [];
    const points = run ? run.records.map((r) => [r[3], r[4]]) : [];
    const here = state.data ? [state.data.point[a], state.data.point[b]] : [0, 0];
    points.push(here);
    for (const [x, y] of points) if (Number.isFinite(x) && Number.isFinite(y)) { xs.push(x); ys.push(y); }
    if (!xs.length) { xs.push(0); ys.push(0); }
    const span = (values) => {
      let [lo, hi] = [Math.min(...values), Math.max(...values)];
      const pad = Math.max(1, (hi - lo) * 0.3);
      return [lo - pad, hi + pad];
    };
    return {names: [a, b], x: span(xs), y: span(ys)};
  }

  let contourData = null;

  async function fetchContour(run) {
    if (!state.data || !state.expression) return;
    const want = bounds(run);
    const have = contourData;
    const inside = have && have.expression === state.expression && have.names.join() === want.names.join()
      && want.x[0] >= have.x[0] && want.x[1] <= have.x[1] && want.y[0] >= have.y[0] && want.y[1] <= have.y[1]
      && (want.x[1] - want.x[0]) > 0.25 * (have.x[1] - have.x[0]);
    if (!inside) {
      try {
        const data = await api("contour", {expression: state.expression, point: pointText(),
          x: want.names[0], y: want.names[1], x_range: want.x, y_range: want.y, size: 80});
        contourData = {...want, expression: state.expression, data};
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        return;
      }
    }
    paintContour(run);
  }

  function paintContour(run) {
    const canvas = $("contour");
    const context = canvas.getContext("2d");
    const map = contourData;
    if (!map) return;
    const {xs, ys, values} = map.data;
    const w = canvas.width, h = canvas.height;
    const finite = values.flat().filter((v) => typeof v === "number" && Number.isFinite(v)).sort((p, q) => p - q);
    context.clearRect(0, 0, w, h);
    if (!finite.length) return;
    const rank = (v) => {
      if (typeof v !== "number" || !Number.isFinite(v)) return null;
      let lo = 0, hi = finite.length - 1;
      while (lo < hi) { const mid = (lo + hi) >> 1; if (finite[mid] < v) lo = mid + 1; else hi = mid; }
      return lo / Math.max(1, finite.length - 1);
    };
    const colour = (t) => {  // dark blue (low) to pale yellow (high)
      const stops = [[30, 58, 138], [37, 99, 235], [56, 189, 248], [167, 243, 208], [254, 249, 195]];
      const x = t * (stops.length - 1);
      const i = Math.min(stops.length - 2, Math.floor(x));
      const f = x - i;
      return stops[i].map((c, k) => Math.round(c + (stops[i + 1][k] - c) * f));
    };
    const n = xs.length, m = ys.length;
    const cellW = w / (n - 1), cellH = h / (m - 1);
    for (let j = 0; j < m; j++) {
      for (let i = 0; i < n; i++) {
        const t = rank(values[j][i]);
        const [r, g, b] = t === null ? [220, 220, 220] : colour(t);
        context.fillStyle = `rgb(${r},${g},${b})`;
        context.fillRect((i - 0.5) * cellW, h - (j + 0.5) * cellH, cellW + 1, cellH + 1);
      }
    }
    // Level lines at quantiles of the values (marching squares).
    context.strokeStyle = "rgba(15,23,42,0.35)";
    context.lineWidth = 1;
    const X = (i) => i * cellW, Y = (j) => h - j * cellH;
    for (let q = 1; q < 12; q++) {
      const level = finite[Math.floor((q / 12) ** 2 * (finite.length - 1))];
      context.beginPath();
      for (let j = 0; j < m - 1; j++) {
        for (let i = 0; i < n - 1; i++) {
          const c = [values[j][i], values[j][i + 1], values[j + 1][i + 1], values[j + 1][i]];
          if (c.some((v) => typeof v !== "number" || !Number.isFinite(v))) continue;
          const corners = [[i, j], [i + 1, j], [i + 1, j + 1], [i, j + 1]];
          const cross = [];
          for (let k = 0; k < 4; k++) {
            const a = c[k], b = c[(k + 1) % 4];
            if ((a < level) !== (b < level)) {
              const f = (level - a) / (b - a);
              const [ai, aj] = corners[k], [bi, bj] = corners[(k + 1) % 4];
              cross.push([X(ai + (bi - ai) * f), Y(aj + (bj - aj) * f)]);
            }
          }
          for (let k = 0; k + 1 < cross.length; k += 2) {
            context.moveTo(cross[k][0], cross[k][1]);
            context.lineTo(cross[k + 1][0], cross[k + 1][1]);
          }
        }
      }
      context.stroke();
    }
    // The path.
    const px = (x) => (x - xs[0]) / (xs[n - 1] - xs[0]) * w;
    const py = (y) => h - (y - ys[0]) / (ys[m - 1] - ys[0]) * h;
    const points = run ? [[run.startPoint[map.names[0]], run.startPoint[map.names[1]]],
      ...run.records.map((r) => [r[3], r[4]])] : [];
    if (state.data) points.push([state.data.point[map.names[0]], state.data.point[map.names[1]]]);
    const good = points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (good.length) {
      context.strokeStyle = "#c2410c";
      context.lineWidth = 2;
      context.beginPath();
      good.forEach(([x, y], k) => (k ? context.lineTo(px(x), py(y)) : context.moveTo(px(x), py(y))));
      context.stroke();
      const dot = ([x, y], fill) => {
        context.fillStyle = fill;
        context.beginPath();
        context.arc(px(x), py(y), 4.5, 0, 2 * Math.PI);
        context.fill();
        context.strokeStyle = "#fff";
        context.lineWidth = 1.5;
        context.stroke();
      };
      dot(good[0], "#0f172a");
      dot(good[good.length - 1], "#c2410c");
    }
    context.fillStyle = "rgba(255,255,255,0.8)";
    context.fillRect(0, h - 16, w, 16);
    context.fillStyle = "#0f172a";
    context.font = "10px monospace";
    context.fillText(`${map.names[0]} ∈ [${fmt(xs[0])}, ${fmt(xs[n - 1])}]   ${map.names[1]} ∈ [${fmt(ys[0])}, ${fmt(ys[m - 1])}]`, 4, h - 4);
    $("contour-caption").textContent = run && run.records.length
      ? "the path on a contour map (black: the start; orange: now)" : "the contour map of f over the two variables";
  }

  // ------------------------------------------------------------ start

  async function start() {
    let info;
    try {
      const response = await fetch("/api/info");
      info = await response.json();
    } catch (_) {
      $("connection").textContent = "cannot reach the server";
      return;
    }
    state.info = info;
    $("connection").textContent = "adcli " + info.version;
    for (const name of Object.keys(info.optimizers)) optimizerBox.append(el("option", {value: name}, name));
    lrBox.value = String(info.optimizers[optimizerBox.value].defaults.lr);
    const opening = info.start || {expression: "sin(x)+x*y", point: {x: 1, y: 2}};
    expressionBox.value = opening.expression;
    fitBox();
    let parsed;
    try {
      parsed = await api("parse", {expression: opening.expression});
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      expressionBox.classList.add("invalid");
      showError(expressionError, error.error);
      return;
    }
    state.expression = opening.expression;
    setVariables(parsed.variables, opening.point || {});
    renderDescent();
    refresh(true);
  }

  start();
})();
