// Component and store tests: `npx vitest run --root dashboard`. happy-dom stands in for the browser;
// the e2e suite (test/e2e) covers the real one.
import { defineConfig } from 'vitest/config';
import vue from '@vitejs/plugin-vue';

export default defineConfig({
  plugins: [vue()],
  test: {
    environment: 'happy-dom',
    include: ['tests/**/*.test.ts'],
    // Machines are shared and noisy: generous, never timing-based.
    testTimeout: 20_000,
  },
});
