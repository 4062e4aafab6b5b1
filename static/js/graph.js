/* Baton: draws a workflow's task graph as SVG, laid out by dagre (vendored).
 *
 * <script type="application/json" id="graph-data">{"nodes": [...], "edges": [[from, to], ...]}</script>
 * <div class="graph" data-graph="graph-data" data-states-from="#run-tasks"></div>
 *
 * Nodes carry an id (the task name), an optional state (coloured through the
 * st-<state> CSS classes), an optional href, an optional group (the path of the
 * `with group(...)` it was declared in, e.g. "extract" or "extract.eu") and
 * `mapped` for a step that runs once per item. Each group is drawn as a box
 * around its steps; its title folds it into one node (and back), the edges
 * then joining the folded box. With data-states-from, the nodes take their
 * states from the rows [data-task][data-state] of that element after each htmx
 * swap, so a live run's graph recolours itself; a folded group takes the state
 * that matters most among its steps.
 */
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var NODE_HEIGHT = 34;
  var PADDING = 28;
  var GROUP_TITLE = 20;
  // The state a folded group shows: the first of these that one of its steps has.
  var SEVERITY = ["failed", "upstream_failed", "running", "up_for_retry", "queued", "waiting",
    "pending", "cancelled", "skipped", "success"];

  function make(name, attrs, parent) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (parent) parent.appendChild(node);
    return node;
  }

  function textWidth(svg, text) {
    var probe = make("text", { class: "node-label", x: 0, y: 0 }, svg);
    probe.textContent = text;
    var width = probe.getComputedTextLength();
    svg.removeChild(probe);
    return width || text.length * 8;
  }

  function ancestors(path) {
    // "a.b.c" → ["a", "a.b", "a.b.c"]
    var parts = path.split("."), out = [];
    for (var i = 1; i <= parts.length; i++) out.push(parts.slice(0, i).join("."));
    return out;
  }

  function groupsOf(data) {
    var groups = {};
    data.nodes.forEach(function (node) {
      if (node.group) ancestors(node.group).forEach(function (path) { groups[path] = []; });
    });
    data.nodes.forEach(function (node) {
      if (node.group) ancestors(node.group).forEach(function (path) { groups[path].push(node.id); });
    });
    return groups;
  }

  // The outermost folded group holding `path` (a group's path), or null.
  function foldedAround(path, folded) {
    if (!path) return null;
    var found = null;
    ancestors(path).some(function (p) { if (folded[p]) { found = p; return true; } return false; });
    return found;
  }

  function parentPath(path) {
    var at = path.lastIndexOf(".");
    return at < 0 ? null : path.slice(0, at);
  }

  function layout(svg, data, groups, folded) {
    var graph = new dagre.graphlib.Graph({ compound: true });
    var grouped = Object.keys(groups).length > 0;
    graph.setGraph({ rankdir: "LR", nodesep: grouped ? 30 : 16, ranksep: 48, marginx: 8, marginy: grouped ? GROUP_TITLE + 8 : 8 });
    graph.setDefaultEdgeLabel(function () { return {}; });
    var shownAs = {};
    Object.keys(groups).forEach(function (path) {
      var outer = foldedAround(parentPath(path), folded);
      if (outer) return; // inside a folded group: not drawn
      var id = "group:" + path;
      if (folded[path]) {
        var label = "▸ " + path + " (" + groups[path].length + ")";
        graph.setNode(id, { width: textWidth(svg, label) + PADDING, height: NODE_HEIGHT, folded: path, label: label });
      } else {
        graph.setNode(id, { box: path });
      }
      var parent = parentPath(path);
      if (parent) graph.setParent(id, "group:" + parent);
    });
    data.nodes.forEach(function (node) {
      var outer = foldedAround(node.group, folded);
      shownAs[node.id] = outer ? "group:" + outer : node.id;
      if (outer) return;
      graph.setNode(node.id, { width: textWidth(svg, node.id) + PADDING, height: NODE_HEIGHT, node: node });
      if (node.group) graph.setParent(node.id, "group:" + node.group);
    });
    data.edges.forEach(function (edge) {
      var from = shownAs[edge[0]], to = shownAs[edge[1]];
      if (from && to && from !== to) graph.setEdge(from, to);
    });
    dagre.layout(graph);
    return graph;
  }

  function drawGroupBoxes(svg, graph, redraw) {
    var layer = make("g", { class: "groups" }, svg);
    graph.nodes().forEach(function (id) {
      var box = graph.node(id);
      if (!box.box) return;
      var left = box.x - box.width / 2, top = box.y - box.height / 2 - GROUP_TITLE;
      var group = make("g", { class: "group-box", "data-group": box.box }, layer);
      make("rect", { x: left, y: top, width: box.width, height: box.height + GROUP_TITLE, rx: 8, ry: 8 }, group);
      var title = make("text", {
        class: "group-title", x: left + 8, y: top + 15, role: "button", tabindex: "0",
        "aria-expanded": "true", "data-fold": box.box
      }, group);
      title.textContent = "▾ " + box.box;
      onActivate(title, function () { redraw(box.box, true); });
    });
  }

  function onActivate(element, action) {
    element.addEventListener("click", action);
    element.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); action(); }
    });
  }

  function drawEdges(svg, graph) {
    var group = make("g", { class: "edges" }, svg);
    graph.edges().forEach(function (edge) {
      var points = graph.edge(edge).points;
      var path = points.map(function (p, i) { return (i ? "L" : "M") + p.x + " " + p.y; }).join(" ");
      make("path", { d: path, class: "edge", "marker-end": "url(#arrow)" }, group);
    });
  }

  function drawNodes(svg, graph, redraw) {
    var nodes = {}, folded = {};
    graph.nodes().forEach(function (id) {
      var box = graph.node(id);
      if (box.box) return;
      var data = box.node || {};
      var parent = svg;
      if (data.href) parent = make("a", { href: data.href }, svg);
      var classes = "node st-" + (data.state || "none") + (data.mapped ? " mapped" : "") + (box.folded ? " group-folded" : "");
      var group = make("g", {
        class: classes,
        transform: "translate(" + (box.x - box.width / 2) + "," + (box.y - box.height / 2) + ")"
      }, parent);
      var label = box.folded ? box.label : id;
      var title = make("title", {}, group);
      title.textContent = data.mapped ? id + " (one per item)" : label;
      if (data.mapped) make("rect", { class: "stack", x: 4, y: -4, width: box.width, height: box.height, rx: 6, ry: 6 }, group);
      make("rect", { width: box.width, height: box.height, rx: 6, ry: 6 }, group);
      var text = make("text", { class: "node-label", x: box.width / 2, y: box.height / 2 + 5, "text-anchor": "middle" }, group);
      text.textContent = label;
      if (box.folded) {
        group.setAttribute("data-group", box.folded);
        group.setAttribute("role", "button");
        group.setAttribute("tabindex", "0");
        group.setAttribute("aria-expanded", "false");
        onActivate(group, function () { redraw(box.folded, false); });
        folded[box.folded] = { group: group, title: title };
      } else {
        group.setAttribute("data-task", id);
        nodes[id] = { group: group, title: title, mapped: data.mapped };
      }
    });
    return { nodes: nodes, folded: folded };
  }

  function draw(container) {
    var source = document.getElementById(container.getAttribute("data-graph"));
    if (!source || typeof dagre === "undefined") return;
    var data = JSON.parse(source.textContent);
    if (!data.nodes.length) return;
    container.graphData = data;
    container.groups = groupsOf(data);
    // A picture holds no controls: with fold buttons, the graph is a labelled group instead.
    if (Object.keys(container.groups).length) container.setAttribute("role", "group");
    container.folded = container.folded || {};
    render(container);
  }

  function render(container) {
    var old = container.querySelector("svg.graph-svg");
    if (old) container.removeChild(old);
    var svg = make("svg", { class: "graph-svg", role: "presentation" }, container);
    var defs = make("defs", {}, svg);
    var marker = make("marker", {
      id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto"
    }, defs);
    make("path", { d: "M0,0 L10,5 L0,10 z", class: "arrow" }, marker);
    var redraw = function (path, fold) {
      container.folded[path] = fold;
      render(container);
      var again = container.querySelector('[data-group="' + path + '"] [data-fold], [data-group="' + path + '"][role="button"]');
      if (again) again.focus();
    };
    var graph = layout(svg, container.graphData, container.groups, container.folded);
    drawGroupBoxes(svg, graph, redraw);
    drawEdges(svg, graph);
    var drawn = drawNodes(svg, graph, redraw);
    container.nodes = drawn.nodes;
    container.foldedNodes = drawn.folded;
    var size = graph.graph();
    svg.setAttribute("viewBox", "0 0 " + size.width + " " + size.height);
    svg.setAttribute("width", size.width);
    svg.setAttribute("height", size.height);
    recolour(container);
  }

  function recolour(container) {
    var selector = container.getAttribute("data-states-from");
    var from = selector && document.querySelector(selector);
    if (!from || !container.nodes) return;
    var states = {};
    from.querySelectorAll("[data-task][data-state]").forEach(function (row) {
      var id = row.getAttribute("data-task"), state = row.getAttribute("data-state");
      states[id] = state;
      var node = container.nodes[id];
      if (!node) return;
      node.group.setAttribute("class", "node st-" + state + (node.mapped ? " mapped" : ""));
      var badge = row.querySelector(".badge");
      node.title.textContent = id + (badge ? ": " + badge.textContent.trim() : "");
    });
    Object.keys(container.foldedNodes || {}).forEach(function (path) {
      var members = container.groups[path].map(function (id) { return states[id]; });
      var shown = SEVERITY.filter(function (state) { return members.indexOf(state) >= 0; })[0] || "none";
      container.foldedNodes[path].group.setAttribute("class", "node group-folded st-" + shown);
    });
  }

  function start() {
    document.querySelectorAll("[data-graph]").forEach(draw);
    document.body.addEventListener("htmx:afterSettle", function () {
      document.querySelectorAll("[data-graph]").forEach(recolour);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
