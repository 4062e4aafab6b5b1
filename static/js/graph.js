/* Baton: draws a workflow's task graph as SVG, laid out by dagre (vendored).
 *
 * <script type="application/json" id="graph-data">{"nodes": [...], "edges": [[from, to], ...]}</script>
 * <div class="graph" data-graph="graph-data" data-states-from="#run-tasks"></div>
 *
 * Nodes carry an id (the task name), an optional state (coloured through the
 * st-<state> CSS classes) and an optional href. With data-states-from, the
 * nodes take their states from the rows [data-task][data-state] of that
 * element after each htmx swap, so a live run's graph recolours itself.
 */
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var NODE_HEIGHT = 34;
  var PADDING = 28;

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

  function layout(svg, data) {
    var graph = new dagre.graphlib.Graph();
    graph.setGraph({ rankdir: "LR", nodesep: 16, ranksep: 48, marginx: 8, marginy: 8 });
    graph.setDefaultEdgeLabel(function () { return {}; });
    data.nodes.forEach(function (node) {
      graph.setNode(node.id, { width: textWidth(svg, node.id) + PADDING, height: NODE_HEIGHT, node: node });
    });
    data.edges.forEach(function (edge) { graph.setEdge(edge[0], edge[1]); });
    dagre.layout(graph);
    return graph;
  }

  function drawEdges(svg, graph) {
    var group = make("g", { class: "edges" }, svg);
    graph.edges().forEach(function (edge) {
      var points = graph.edge(edge).points;
      var path = points.map(function (p, i) { return (i ? "L" : "M") + p.x + " " + p.y; }).join(" ");
      make("path", { d: path, class: "edge", "marker-end": "url(#arrow)" }, group);
    });
  }

  function drawNodes(svg, graph) {
    var nodes = {};
    graph.nodes().forEach(function (id) {
      var box = graph.node(id);
      var data = box.node;
      var parent = svg;
      if (data.href) {
        parent = make("a", { href: data.href }, svg);
      }
      var group = make("g", {
        class: "node st-" + (data.state || "none"),
        transform: "translate(" + (box.x - box.width / 2) + "," + (box.y - box.height / 2) + ")",
        "data-task": id
      }, parent);
      var title = make("title", {}, group);
      title.textContent = id;
      make("rect", { width: box.width, height: box.height, rx: 6, ry: 6 }, group);
      var label = make("text", { class: "node-label", x: box.width / 2, y: box.height / 2 + 5, "text-anchor": "middle" }, group);
      label.textContent = id;
      nodes[id] = { group: group, title: title };
    });
    return nodes;
  }

  function draw(container) {
    var source = document.getElementById(container.getAttribute("data-graph"));
    if (!source || typeof dagre === "undefined") return;
    var data = JSON.parse(source.textContent);
    if (!data.nodes.length) return;
    var svg = make("svg", { class: "graph-svg", role: "presentation" }, container);
    var defs = make("defs", {}, svg);
    var marker = make("marker", {
      id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto"
    }, defs);
    make("path", { d: "M0,0 L10,5 L0,10 z", class: "arrow" }, marker);
    var graph = layout(svg, data);
    drawEdges(svg, graph);
    container.nodes = drawNodes(svg, graph);
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
    from.querySelectorAll("[data-task][data-state]").forEach(function (row) {
      var node = container.nodes[row.getAttribute("data-task")];
      if (!node) return;
      node.group.setAttribute("class", "node st-" + row.getAttribute("data-state"));
      var badge = row.querySelector(".badge");
      node.title.textContent = row.getAttribute("data-task") + (badge ? ": " + badge.textContent.trim() : "");
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
