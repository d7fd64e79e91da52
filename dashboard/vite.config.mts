// The operator dashboard's build: a single-page app served by the cloud runtime at '/', the API at
// /api/v1 on the same origin (so no CORS and no API URL in the bundle). `npx vite build dashboard`.
import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';
import { fileURLToPath } from 'node:url';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  plugins: [vue()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // ECharts and Leaflet are imported modularly; split them so the shell loads first.
    chunkSizeWarningLimit: 700,
    rollupOptions: {
      output: {
        manualChunks(id: string): string | undefined {
          if (id.includes('node_modules/echarts') || id.includes('node_modules/zrender')) return 'charts';
          if (id.includes('node_modules/leaflet')) return 'map';
          return undefined;
        },
      },
    },
  },
  server: {
    // `npx vite dashboard` (and `vite preview dashboard`) during development: the API of a running
    // `lifo4 start` on 1880, or LIFO4_API_TARGET.
    proxy: { '/api': { target: process.env.LIFO4_API_TARGET ?? 'http://127.0.0.1:1880', ws: true } },
  },
});
