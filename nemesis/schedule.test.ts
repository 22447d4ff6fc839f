import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_TAIL_MS, FAULT_KINDS, parseDurationMs, parseFaultKinds, planFaults } from './schedule.js';

describe('chaos schedule', () => {
  const opts = { seed: 42, nodes: 5, durationMs: 600_000, kinds: FAULT_KINDS };

  it('is the same for the same seed, and another for another seed', () => {
    assert.deepEqual(planFaults(opts), planFaults(opts));
    assert.notDeepEqual(planFaults(opts), planFaults({ ...opts, seed: 43 }));
  });

  it('runs one fault at a time with quiet between, none in the tail, every kind given and no other', () => {
    const faults = planFaults(opts);
    assert.ok(faults.length > 30, `${faults.length} faults in 10 minutes`);
    for (let i = 1; i < faults.length; i++) {
      const previous = faults[i - 1]!;
      assert.ok(faults[i]!.atMs >= previous.atMs + previous.durationMs + 5_000, `fault ${i} starts during or right after fault ${i - 1}`);
    }
    for (const f of faults) assert.ok(f.atMs + f.durationMs <= opts.durationMs - DEFAULT_TAIL_MS);
    assert.deepEqual([...new Set(faults.map((f) => f.kind))].sort(), [...FAULT_KINDS].sort());
    assert.deepEqual([...new Set(planFaults({ ...opts, kinds: ['kill', 'stall'] }).map((f) => f.kind))].sort(), ['kill', 'stall']);
  });

  it('cuts partitions into a minority and a majority that cover every node once', () => {
    // Two nodes have no majority to cut off: a pause stands in.
    assert.deepEqual([...new Set(planFaults({ ...opts, nodes: 2, kinds: ['partition'] }).map((f) => f.kind))], ['pause']);
    for (const nodes of [3, 5, 7]) {
      for (const f of planFaults({ ...opts, nodes, kinds: ['partition'] })) {
        const [minority, majority] = f.groups!;
        assert.ok(minority!.length >= 1 && minority!.length < majority!.length, JSON.stringify(f.groups));
        assert.deepEqual([...minority!, ...majority!].sort((a, b) => a - b), Array.from({ length: nodes }, (_, i) => i + 1));
        assert.deepEqual(f.nodes, minority);
      }
    }
  });

  it('cuts a bridge into two sides that its bridge node, in neither, joins', () => {
    for (const nodes of [3, 5, 7]) {
      const faults = planFaults({ ...opts, nodes, kinds: ['bridge'] });
      assert.ok(faults.length > 0);
      for (const f of faults) {
        const [a, b] = f.groups!;
        assert.ok(a!.length >= 1 && b!.length >= 1, JSON.stringify(f.groups));
        assert.deepEqual([...a!, ...b!, ...f.nodes].sort((x, y) => x - y), Array.from({ length: nodes }, (_, i) => i + 1));
        assert.equal(f.nodes.length, 1);
      }
    }
  });

  it('mutes one node towards one to all of the others in a one-way cut', () => {
    assert.deepEqual([...new Set(planFaults({ ...opts, nodes: 1, kinds: ['one-way'] }).map((f) => f.kind))], ['pause']);
    const sizes = new Set<number>();
    for (const f of planFaults({ ...opts, nodes: 5, kinds: ['one-way'] })) {
      const [[muted], targets] = f.groups as [number[], number[]];
      assert.deepEqual(f.nodes, [muted]);
      assert.ok(targets.length >= 1 && targets.length <= 4 && !targets.includes(muted!), JSON.stringify(f.groups));
      assert.deepEqual(targets, [...new Set(targets)].sort((a, b) => a - b));
      sizes.add(targets.length);
    }
    assert.ok(sizes.size >= 3, `cuts towards ${[...sizes].join(', ')} nodes only`);
  });

  it('targets nodes in range, loss at 10–40 %', () => {
    for (const f of planFaults(opts)) {
      for (const n of f.nodes) assert.ok(n >= 1 && n <= 5);
      if (f.kind === 'loss') assert.ok(f.percent! >= 10 && f.percent! <= 40);
      if (f.kind === 'hostile') for (const n of [f.flooded!, f.accused!]) assert.ok(n >= 1 && n <= 5);
    }
  });

  it('parses fault kinds and durations, naming what it does not know', () => {
    assert.deepEqual(parseFaultKinds('kill, pause,kill'), { kinds: ['kill', 'pause'] });
    assert.match((parseFaultKinds('kill,flood') as { error: string }).error, /unknown fault kind 'flood'; known: kill, pause/);
    assert.match((parseFaultKinds(' ') as { error: string }).error, /no fault kinds/);
    assert.equal(parseDurationMs('10m'), 600_000);
    assert.equal(parseDurationMs('90'), 90_000);
    assert.equal(parseDurationMs('1.5h'), 5_400_000);
    assert.equal(parseDurationMs('250ms'), 250);
    assert.equal(parseDurationMs('ten'), null);
  });
});
