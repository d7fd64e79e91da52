import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';

// The floors of docs/ARCHITECTURE.md, lowest first: a file may import its own floor and the ones
// below it, never one above. bench/ and test/ sit on top of everything; the dashboard is a
// browser app that may use the pure domain only.
const FLOORS = [
  { name: 'domain', paths: ['./domain'] },
  { name: 'io', paths: ['./io'] },
  { name: 'nodes', paths: ['./nodes'] },
  { name: 'editor-plugins', paths: ['./editor-plugins'] },
  { name: 'the host', paths: ['./runtime', './settings.ts'] },
];
const TOP = ['./bench', './test', './dashboard', './scripts'];

const floorZones = FLOORS.flatMap((floor, i) => floor.paths.map((target) => ({
  target,
  from: [...FLOORS.slice(i + 1).flatMap((f) => f.paths), ...TOP],
  message: `${floor.name} may not import a floor above it (docs/ARCHITECTURE.md, "Floors").`,
})));
const dashboardZone = {
  target: './dashboard',
  from: ['./io', './nodes', './editor-plugins', './runtime', './settings.ts', './bench', './test', './scripts'],
  message: 'the dashboard runs in the browser: it and its tests import the pure domain/ only (checks against the server live in test/).',
};

// What the domain may not reach: Node's modules and globals, and the packages that do I/O. It runs
// in the browser too (the dashboard and the editor plugins import it).
const IO_PACKAGES = [
  'node-red', 'better-sqlite3', 'mqtt', 'aedes', 'onnxruntime-web', 'onnx-proto', 'influx', 'modbus-serial',
  'express', 'socket.io', 'tar', 'commander',
];
const NODE_GLOBALS = ['Buffer', 'process', 'require', '__dirname', '__filename', 'setImmediate', 'global'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'dashboard/dist/**', '**/*.html'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  {
    // The floors and their import rules, checked on every TypeScript file of the repository.
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.d.ts', '.js', '.json', '.vue'] })],
      'import-x/extensions': ['.ts', '.js'],
    },
    rules: {
      'import-x/no-restricted-paths': ['error', { zones: [...floorZones, dashboardZone] }],
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-duplicates': 'error',
      'import-x/no-self-import': 'error',
    },
  },
  {
    files: ['domain/**/*.ts'],
    plugins: { 'import-x': importX },
    rules: {
      'import-x/no-nodejs-modules': 'error',
      'no-restricted-imports': ['error', { paths: IO_PACKAGES.map((name) => ({ name, message: 'the domain does no I/O: this belongs in io/ or above.' })) }],
      'no-restricted-globals': ['error', ...NODE_GLOBALS.map((name) => ({ name, message: 'the domain runs in the browser too: no Node.js globals.' }))],
    },
  },
  {
    // `const node = this` is the Node-RED idiom: handlers registered with node.on() need it.
    files: ['nodes/**/*.ts'],
    rules: { '@typescript-eslint/no-this-alias': 'off' },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
