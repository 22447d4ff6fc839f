/**
 * Runs every scenario in testdata/ (scenario.ts describes the format and the commands). The
 * tests run from dist/, so the files are read from the source tree beside this module's source.
 * `CONCLAVE_REWRITE_SCENARIOS=1 npm test -- scenarios` writes the actual outputs back instead.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { describeMismatch, parseScenario, rewriteScenario, ScenarioRunner } from './scenario.js';

/** dist/protocols/raft/ -> protocols/raft/testdata/ in the source tree. */
const TESTDATA = fileURLToPath(new URL('../../../protocols/raft/testdata/', import.meta.url));
const REWRITE = process.env['CONCLAVE_REWRITE_SCENARIOS'] === '1';

describe('raft scenarios (testdata/*.txt)', () => {
  const files = readdirSync(TESTDATA).filter((f) => f.endsWith('.txt')).sort();
  it('finds scenario files', () => assert.ok(files.length > 0, `no scenarios in ${TESTDATA}`));
  for (const file of files) {
    it(file, () => {
      const path = TESTDATA + file;
      const text = readFileSync(path, 'utf8');
      const blocks = parseScenario(text, path);
      const runner = new ScenarioRunner();
      const outputs = blocks.map((b) => runner.run(b.command));
      if (REWRITE) {
        writeFileSync(path, rewriteScenario(text, blocks, outputs));
        return;
      }
      const mismatches = blocks.flatMap((b, i) => (outputs[i] === b.expected ? [] : [describeMismatch(path, b, outputs[i]!)]));
      // Later blocks usually differ because an earlier one did: show the first few.
      assert.ok(mismatches.length === 0, `${mismatches.length} of ${blocks.length} blocks differ (rewrite with CONCLAVE_REWRITE_SCENARIOS=1):\n\n${mismatches.slice(0, 3).join('\n\n')}`);
    });
  }
});
