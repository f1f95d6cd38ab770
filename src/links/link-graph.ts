// Loops among links: a link from device A to device B is an edge A -> B, because a command run on
// B can make B emit events of its own. Any cycle (including A -> A) could run forever, so a config
// with one is refused. Found with Tarjan's strongly connected components: every component of more
// than one device, or a device with an edge to itself, is one loop to report.

export interface LinkEdge {
  from: string;
  to: string;
  /** Index of the link in `links` this edge comes from. */
  link: number;
}

export interface LinkLoop {
  /** The devices of the loop, in a stable order (first seen first). */
  devices: string[];
  /** Indexes of the links whose edges lie inside the loop, ascending. */
  links: number[];
}

export function findLoops(edges: readonly LinkEdge[]): LinkLoop[] {
  const next = new Map<string, string[]>();
  const nodes: string[] = [];
  const addNode = (n: string) => {
    if (!next.has(n)) {
      next.set(n, []);
      nodes.push(n);
    }
  };
  for (const e of edges) {
    addNode(e.from);
    addNode(e.to);
    next.get(e.from)!.push(e.to);
  }

  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;

  // Iterative, so a long chain of links cannot overflow the call stack.
  for (const root of nodes) {
    if (index.has(root)) continue;
    const work: { node: string; edge: number }[] = [{ node: root, edge: 0 }];
    index.set(root, counter);
    low.set(root, counter++);
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const frame = work[work.length - 1];
      const targets = next.get(frame.node)!;
      if (frame.edge < targets.length) {
        const to = targets[frame.edge++];
        if (!index.has(to)) {
          index.set(to, counter);
          low.set(to, counter++);
          stack.push(to);
          onStack.add(to);
          work.push({ node: to, edge: 0 });
        } else if (onStack.has(to)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, index.get(to)!));
        }
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1].node;
        low.set(parent, Math.min(low.get(parent)!, low.get(frame.node)!));
      }
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        components.push(component);
      }
    }
  }

  const order = new Map(nodes.map((n, i) => [n, i]));
  const loops: LinkLoop[] = [];
  for (const component of components) {
    const members = new Set(component);
    const inside = edges.filter((e) => members.has(e.from) && members.has(e.to));
    if (component.length === 1 && !inside.some((e) => e.from === e.to)) continue;
    loops.push({
      devices: component.sort((a, b) => order.get(a)! - order.get(b)!),
      links: [...new Set(inside.map((e) => e.link))].sort((a, b) => a - b),
    });
  }
  return loops.sort((a, b) => a.links[0] - b.links[0]);
}
