import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { RenderLoop } from './render-loop.js';

test('requests collapse into at most one render per interval, and the refresh renders on its own', () => {
  mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'] });
  try {
    let renders = 0;
    const loop = new RenderLoop({ render: () => renders++, minIntervalMs: 100, refreshMs: 1000, nowMs: () => Date.now() });
    loop.start();
    mock.timers.tick(0);
    assert.equal(renders, 1);
    // A burst of 50 changes within one interval costs one more render, not 50.
    for (let i = 0; i < 50; i++) loop.request();
    mock.timers.tick(99);
    assert.equal(renders, 1);
    mock.timers.tick(1);
    assert.equal(renders, 2);
    // An event every 10 ms for a second: no more than ten renders.
    for (let t = 0; t < 1000; t += 10) {
      loop.request();
      mock.timers.tick(10);
    }
    assert.ok(renders - 2 >= 5 && renders - 2 <= 11, `rendered ${renders - 2} times`);
    // Quiet: the refresh still renders once a second (ages move).
    const before = renders;
    for (let i = 0; i < 3; i++) {
      mock.timers.tick(1000);
      mock.timers.tick(1);
    }
    assert.equal(renders - before, 3);
    loop.stop();
    mock.timers.tick(5000);
    assert.equal(renders - before, 3);
  } finally {
    mock.timers.reset();
  }
});
