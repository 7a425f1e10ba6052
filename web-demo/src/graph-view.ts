/**
 * A small force-directed graph in SVG: repulsion between every pair of
 * nodes, springs along edges, a pull to the centre, cooled over a few hundred
 * ticks. Good for the few hundred nodes an organization has; no dependency.
 */

export interface GraphNode {
  readonly id: string;
  readonly label: string;
  readonly group: string;
  /** Relative size, 1 for an ordinary node. */
  readonly weight?: number;
}

export interface GraphEdge {
  readonly from: string;
  readonly to: string;
  readonly label: string;
}

export interface GraphViewOptions {
  readonly colors: Readonly<Record<string, string>>;
  readonly onSelect: (id: string) => void;
}

interface SimNode extends GraphNode {
  x: number;
  y: number;
  vx: number;
  vy: number;
  r: number;
}

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 900;
const HEIGHT = 560;

function el<K extends keyof SVGElementTagNameMap>(name: K, attrs: Record<string, string | number> = {}): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  return node;
}

/** Deterministic start positions (a sunflower spiral), so a layout looks the same on every load. */
function seed(nodes: GraphNode[]): SimNode[] {
  const golden = Math.PI * (3 - Math.sqrt(5));
  return nodes.map((n, i) => {
    const radius = 14 * Math.sqrt(i + 1);
    const r = 6 + 5 * Math.sqrt(n.weight ?? 1);
    return { ...n, x: WIDTH / 2 + radius * Math.cos(i * golden), y: HEIGHT / 2 + radius * Math.sin(i * golden), vx: 0, vy: 0, r };
  });
}

function tick(nodes: SimNode[], edges: { a: SimNode; b: SimNode }[], alpha: number): void {
  const repulsion = 5200;
  for (let i = 0; i < nodes.length; i++) {
    const a = nodes[i]!;
    for (let j = i + 1; j < nodes.length; j++) {
      const b = nodes[j]!;
      let dx = a.x - b.x;
      let dy = a.y - b.y;
      let d2 = dx * dx + dy * dy;
      if (d2 < 0.01) {
        dx = (i % 7) - 3 + 0.1;
        dy = (j % 5) - 2 + 0.1;
        d2 = dx * dx + dy * dy;
      }
      // Hubs (weight > 1) push each other harder, so they do not pile up in the middle.
      const force = (repulsion * alpha * (a.weight ?? 1) * (b.weight ?? 1)) / d2;
      const d = Math.sqrt(d2);
      const fx = (dx / d) * force;
      const fy = (dy / d) * force;
      a.vx += fx;
      a.vy += fy;
      b.vx -= fx;
      b.vy -= fy;
    }
  }
  for (const { a, b } of edges) {
    const dx = b.x - a.x;
    const dy = b.y - a.y;
    const d = Math.sqrt(dx * dx + dy * dy) || 1;
    const rest = 95 + a.r + b.r;
    const k = 0.04 * alpha * (d - rest);
    const fx = (dx / d) * k;
    const fy = (dy / d) * k;
    a.vx += fx;
    a.vy += fy;
    b.vx -= fx;
    b.vy -= fy;
  }
  for (const n of nodes) {
    n.vx += (WIDTH / 2 - n.x) * 0.007 * alpha;
    n.vy += (HEIGHT / 2 - n.y) * 0.02 * alpha;
    n.vx *= 0.6;
    n.vy *= 0.6;
    n.x = Math.min(WIDTH - n.r - 4, Math.max(n.r + 4, n.x + n.vx));
    n.y = Math.min(HEIGHT - n.r - 4, Math.max(n.r + 4, n.y + n.vy));
  }
}

/**
 * Draws the graph into `container`, replacing what was there. Nodes are
 * focusable buttons (Enter or click selects); `select(id)` highlights one
 * and its neighbours.
 */
export class GraphView {
  readonly #container: HTMLElement;
  readonly #options: GraphViewOptions;
  #nodes = new Map<string, { sim: SimNode; g: SVGGElement }>();
  #edges: { from: string; to: string; line: SVGLineElement; text: SVGTextElement }[] = [];
  #frame = 0;
  #svg: SVGSVGElement | undefined;

  constructor(container: HTMLElement, options: GraphViewOptions) {
    this.#container = container;
    this.#options = options;
  }

  render(nodes: GraphNode[], edges: GraphEdge[]): void {
    cancelAnimationFrame(this.#frame);
    this.#container.replaceChildren();
    this.#nodes.clear();
    this.#edges = [];
    if (nodes.length === 0) {
      const empty = document.createElement('p');
      empty.className = 'graph-empty';
      empty.textContent = 'The graph appears here after a sync.';
      this.#container.append(empty);
      return;
    }

    const sims = seed(nodes);
    const byId = new Map(sims.map((n) => [n.id, n]));
    const links = edges.flatMap((e) => {
      const a = byId.get(e.from);
      const b = byId.get(e.to);
      return a && b ? [{ a, b, edge: e }] : [];
    });

    const svg = el('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'group', 'aria-label': `Graph of ${nodes.length} entities and ${links.length} relationships` });
    svg.classList.add('graph-svg');
    const edgeLayer = el('g', { class: 'edges' });
    const nodeLayer = el('g', { class: 'nodes' });
    svg.append(edgeLayer, nodeLayer);

    for (const { edge } of links) {
      const line = el('line', { class: `edge verb-${edge.label.toLowerCase()}` });
      const hover = el('title');
      hover.textContent = `${byId.get(edge.from)!.label} ${edge.label} ${byId.get(edge.to)!.label}`;
      line.append(hover);
      const text = el('text', { class: 'edge-label' });
      text.textContent = edge.label;
      edgeLayer.append(line, text);
      this.#edges.push({ from: edge.from, to: edge.to, line, text });
    }
    for (const sim of sims) {
      const g = el('g', { class: 'node', tabindex: 0, role: 'button', 'data-id': sim.id, 'data-group': sim.group, 'aria-label': `${sim.group} ${sim.label}` });
      const circle = el('circle', { r: sim.r, fill: this.#options.colors[sim.group] ?? '#94a3b8' });
      const title = el('title');
      title.textContent = `${sim.label} (${sim.group})`;
      const label = el('text', { class: 'node-label', dy: sim.r + 12 });
      label.textContent = sim.label.length > 22 ? `${sim.label.slice(0, 21)}…` : sim.label;
      g.append(circle, title, label);
      g.addEventListener('click', () => this.#options.onSelect(sim.id));
      g.addEventListener('keydown', (event) => {
        if (event.key === 'Enter' || event.key === ' ') {
          event.preventDefault();
          this.#options.onSelect(sim.id);
        }
      });
      nodeLayer.append(g);
      this.#nodes.set(sim.id, { sim, g });
    }
    this.#container.append(svg);
    this.#svg = svg;

    // Settle most of the way at once, then animate the last stretch.
    const pairs = links.map(({ a, b }) => ({ a, b }));
    const total = 320;
    const upfront = 240;
    for (let i = 0; i < upfront; i++) tick(sims, pairs, 1 - i / total);
    this.#draw();
    let step = upfront;
    const animate = (): void => {
      for (let i = 0; i < 4 && step < total; i++, step++) tick(sims, pairs, 1 - step / total);
      this.#draw();
      if (step < total) this.#frame = requestAnimationFrame(animate);
    };
    this.#frame = requestAnimationFrame(animate);
  }

  /** Highlights a node and its neighbours; undefined clears the highlight. */
  select(id: string | undefined): void {
    const neighbours = new Set<string>();
    const touching = this.#edges.filter((e) => id !== undefined && (e.from === id || e.to === id));
    // Verb labels only where they stay readable; the detail panel lists every relationship.
    const labelled = touching.length <= 6;
    for (const e of this.#edges) {
      const touches = touching.includes(e);
      e.line.classList.toggle('active', touches);
      e.text.classList.toggle('active', touches && labelled);
      if (touches) neighbours.add(e.from === id ? e.to : e.from);
    }
    for (const [nodeId, { g }] of this.#nodes) {
      g.classList.toggle('selected', nodeId === id);
      g.classList.toggle('neighbour', neighbours.has(nodeId));
      g.classList.toggle('dimmed', id !== undefined && nodeId !== id && !neighbours.has(nodeId));
    }
  }

  /** Marks a set of nodes (a query's answer) and dims the rest; undefined clears the marks. */
  highlight(ids: ReadonlySet<string> | undefined): void {
    for (const [nodeId, { g }] of this.#nodes) {
      g.classList.toggle('match', ids !== undefined && ids.has(nodeId));
      g.classList.toggle('dimmed', ids !== undefined && !ids.has(nodeId));
    }
  }

  /** Fits the view to the layout, zooming in at most 1.5x so small graphs do not look bloated. */
  #fit(): void {
    if (!this.#svg) return;
    let minX = Infinity;
    let minY = Infinity;
    let maxX = -Infinity;
    let maxY = -Infinity;
    for (const { sim } of this.#nodes.values()) {
      const half = Math.max(sim.r, Math.min(sim.label.length, 22) * 3);
      minX = Math.min(minX, sim.x - half);
      maxX = Math.max(maxX, sim.x + half);
      minY = Math.min(minY, sim.y - sim.r);
      maxY = Math.max(maxY, sim.y + sim.r + 16);
    }
    const pad = 24;
    let w = Math.max(maxX - minX + 2 * pad, WIDTH / 1.5);
    let h = Math.max(maxY - minY + 2 * pad, HEIGHT / 1.5);
    const aspect = WIDTH / HEIGHT;
    if (w / h > aspect) h = w / aspect;
    else w = h * aspect;
    const cx = (minX + maxX) / 2;
    const cy = (minY + maxY) / 2;
    this.#svg.setAttribute('viewBox', `${(cx - w / 2).toFixed(1)} ${(cy - h / 2).toFixed(1)} ${w.toFixed(1)} ${h.toFixed(1)}`);
  }

  #draw(): void {
    this.#fit();
    for (const { sim, g } of this.#nodes.values()) g.setAttribute('transform', `translate(${sim.x.toFixed(1)} ${sim.y.toFixed(1)})`);
    for (const e of this.#edges) {
      const a = this.#nodes.get(e.from)!.sim;
      const b = this.#nodes.get(e.to)!.sim;
      e.line.setAttribute('x1', a.x.toFixed(1));
      e.line.setAttribute('y1', a.y.toFixed(1));
      e.line.setAttribute('x2', b.x.toFixed(1));
      e.line.setAttribute('y2', b.y.toFixed(1));
      e.text.setAttribute('x', ((a.x + b.x) / 2).toFixed(1));
      e.text.setAttribute('y', ((a.y + b.y) / 2).toFixed(1));
    }
  }
}
