// Loop detection among links (Tarjan's strongly connected components over devices).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findLoops, type LinkEdge } from '../../src/links/link-graph.js';

const edge = (from: string, to: string, link: number): LinkEdge => ({ from, to, link });

test('no edges, chains and diamonds have no loops', () => {
  assert.deepEqual(findLoops([]), []);
  assert.deepEqual(findLoops([edge('a', 'b', 0), edge('b', 'c', 1), edge('a', 'c', 2), edge('c', 'd', 3)]), []);
});

test('a device linked to itself is a loop of one', () => {
  assert.deepEqual(findLoops([edge('a', 'b', 0), edge('b', 'b', 1)]), [{ devices: ['b'], links: [1] }]);
});

test('a two-device and a three-device loop, each reported once with the links inside it', () => {
  const loops = findLoops([
    edge('a', 'b', 0),
    edge('b', 'a', 1),
    edge('b', 'c', 2), // leaves the loop: not part of it
    edge('x', 'y', 3),
    edge('y', 'z', 4),
    edge('z', 'x', 5),
  ]);
  assert.deepEqual(loops, [
    { devices: ['a', 'b'], links: [0, 1] },
    { devices: ['x', 'y', 'z'], links: [3, 4, 5] },
  ]);
});

test('a long chain closing on itself is found without deep recursion', () => {
  const edges: LinkEdge[] = [];
  for (let i = 0; i < 20_000; i++) edges.push(edge(`d${i}`, `d${i + 1}`, i));
  assert.deepEqual(findLoops(edges), []);
  edges.push(edge('d20000', 'd0', 20_000));
  const [loop] = findLoops(edges);
  assert.equal(loop.devices.length, 20_001);
  assert.equal(loop.links.length, 20_001);
});
