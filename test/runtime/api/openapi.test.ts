// The dashboard's typed client is checked against a saved copy of the API's OpenAPI document
// (dashboard/src/api/openapi.json; dashboard/tests/api/openapi.test.ts). This is the other link:
// the saved copy is the document the API's code generates now, so a changed route cannot hide.
// When it fails: run `node dist/test/runtime/api/save-openapi.js` and fix what the dashboard's test reports.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../../io/package-root';
import { openApiDocument } from '../../../runtime/api/openapi';

describe("the dashboard's saved OpenAPI document", () => {
  it('is identical to the one the API generates from its route table', () => {
    const saved = JSON.parse(readFileSync(join(packageRoot, 'dashboard', 'src', 'api', 'openapi.json'), 'utf8')) as { paths: Record<string, unknown> };
    const live = JSON.parse(JSON.stringify(openApiDocument('0'))) as { paths: Record<string, unknown> };
    assert.deepEqual(Object.keys(saved.paths).sort(), Object.keys(live.paths).sort());
    assert.deepEqual(saved, live);
  });
});
