import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..', '..');
const html = (type: string): string => readFileSync(join(root, 'nodes', type, `${type}.html`), 'utf8');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { 'node-red': { nodes: Record<string, string> } };

describe('editor forms of the device nodes', () => {
  it('registers every node of package.json with a form and help text', () => {
    for (const type of ['modbus-connection', 'sunspec-device', 'pcs-setpoint', 'profile-device', 'sunspec-decode']) {
      assert.ok(pkg['node-red'].nodes[type], `${type} in package.json`);
      const text = html(type);
      assert.match(text, new RegExp(`registerType\\('${type}'`));
      assert.match(text, new RegExp(`data-template-name="${type}"`));
      assert.match(text, new RegExp(`data-help-name="${type}"`));
    }
  });

  for (const type of ['sunspec-device', 'pcs-setpoint', 'profile-device', 'sunspec-decode']) {
    it(`shows ${type} in the edge energy palette, with Inputs, Outputs and Details in its help`, () => {
      const text = html(type);
      assert.match(text, /category: 'energy edge'/);
      assert.match(text, /paletteLabel:/);
      for (const section of ['Inputs', 'Outputs', 'Details']) assert.match(text, new RegExp(`<h3>${section}</h3>`));
    });
  }

  it('keeps the modbus-connection among the config nodes', () => {
    assert.match(html('modbus-connection'), /category: 'config'/);
  });
});
