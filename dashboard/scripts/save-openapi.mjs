// Saves the API's OpenAPI document as dashboard/src/api/openapi.json, the copy the dashboard's
// client is checked against (tests/api/openapi.test.ts). Run after the API's routes change:
//   npx tsc -p . && node dashboard/scripts/save-openapi.mjs
// The test also compares this copy with the document the API's code generates now, so a stale
// copy fails the test instead of hiding a change.
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';

const require = createRequire(import.meta.url);
const { openApiDocument } = require('../../dist/runtime/api/openapi.js');
const doc = openApiDocument('0');
writeFileSync(new URL('../src/api/openapi.json', import.meta.url), `${JSON.stringify(doc, null, 2)}\n`);
console.log(`saved ${Object.keys(doc.paths).length} paths to dashboard/src/api/openapi.json`);
