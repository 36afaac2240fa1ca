// Who produces and who consumes each tensor of the main graph: what layer discovery walks.
import type { GraphProto, NodeProto } from './proto.ts';

export interface GraphIndex {
  readonly nodes: readonly NodeProto[];
  /** Tensor name -> the node producing it (absent for graph inputs and initializers). */
  readonly producer: ReadonlyMap<string, NodeProto>;
  /** Tensor name -> the nodes reading it, in graph order. */
  readonly consumers: ReadonlyMap<string, readonly NodeProto[]>;
  /** Names of the graph outputs. */
  readonly outputs: ReadonlySet<string>;
  /** Names of the graph inputs that are not initializers (the data a user feeds). */
  readonly dataInputs: readonly string[];
}

export function indexGraph(graph: GraphProto): GraphIndex {
  const nodes = graph.node ?? [];
  const producer = new Map<string, NodeProto>();
  const consumers = new Map<string, NodeProto[]>();
  for (const node of nodes) {
    for (const out of node.output ?? []) if (out) producer.set(out, node);
    for (const input of node.input ?? []) {
      if (!input) continue; // an omitted optional input
      const list = consumers.get(input) ?? [];
      if (!list.includes(node)) list.push(node);
      consumers.set(input, list);
    }
  }
  const initializerNames = new Set((graph.initializer ?? []).map((t) => t.name ?? ''));
  const dataInputs = (graph.input ?? []).map((v) => v.name ?? '').filter((n) => !initializerNames.has(n));
  const outputs = new Set((graph.output ?? []).map((v) => v.name ?? ''));
  return { nodes, producer, consumers, outputs, dataInputs };
}

/** The nodes reading `tensor` (empty when none). */
export function consumersOf(index: GraphIndex, tensor: string): readonly NodeProto[] {
  return index.consumers.get(tensor) ?? [];
}

/** Every tensor `tensor` is computed from (itself, node inputs up to graph inputs and initializers). */
export function upstreamTensors(index: GraphIndex, tensor: string): Set<string> {
  const seen = new Set<string>();
  const stack = [tensor];
  while (stack.length > 0) {
    const name = stack.pop()!;
    if (seen.has(name)) continue;
    seen.add(name);
    const node = index.producer.get(name);
    for (const input of node?.input ?? []) if (input && !seen.has(input)) stack.push(input);
  }
  return seen;
}
