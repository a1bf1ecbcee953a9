// Every case of ../shared/vectors/esdk/ again, with each message's frames
// opened by node:crypto on the external path (src/external.js), which
// normally takes messages of 1 MiB and more only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openedCount, setMinBytes } from '../src/external.js';

setMinBytes(0);
await import('./vectors.test.js');

test('the vectors were opened on the external path', () => {
  // Every vector that decrypts, and those that fail only at a frame tag or
  // the signature, got that far on this path.
  assert.ok(openedCount() >= 200, `only ${openedCount()} messages took the external path`);
});
