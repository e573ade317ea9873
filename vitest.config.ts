import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

// End-to-end files share one lab and some of them grow or restart it: run them in path order,
// the same on every machine, instead of vitest's duration-based order.
class PathOrder extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return [...files].sort((a, b) => a.moduleId.localeCompare(b.moduleId));
  }
}

export default defineConfig({
  test: {
    // The sequencer is a root option: project-level ones are ignored.
    sequence: { sequencer: PathOrder },
    projects: [
      // Property tests run hundreds of cases: give them room on a loaded machine.
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 60_000 } },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/e2e/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 300_000,
          // Lab hosts are shared by all e2e files: run them one file at a time.
          fileParallelism: false,
        },
      },
    ],
  },
});
