import { defineConfig } from 'vitest/config';

// The Python cross-checks (test/python): torch and OpenCV on this machine; see the test file.
export default defineConfig({
  test: { include: ['test/python/**/*.test.ts'], testTimeout: 120_000 },
});
