// Saves the API's OpenAPI document as dashboard/src/api/openapi.json, the copy the dashboard's
// client is checked against (dashboard/tests/api/openapi.test.ts; openapi.test.ts here fails while
// the copy is stale). Run after the API's routes change:
//   npx tsc -p . && node dist/test/runtime/api/save-openapi.js
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../../io/package-root';
import { openApiDocument } from '../../../runtime/api/openapi';

const doc = openApiDocument('0') as { paths: Record<string, unknown> };
writeFileSync(join(packageRoot, 'dashboard', 'src', 'api', 'openapi.json'), `${JSON.stringify(doc, null, 2)}\n`);
console.log(`saved ${Object.keys(doc.paths).length} paths to dashboard/src/api/openapi.json`);
