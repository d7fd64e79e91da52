// Saved device profiles on disk: only valid profiles are written, names cannot leave the
// profiles directory, and what is saved loads back unchanged.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProfileError } from '../../../domain/sunspec/profile';
import { ProfileNotFoundError, ProfileStore } from '../../../editor-plugins/profile-editor/store';

const PROFILE = {
  name: 'Two registers', kind: 'battery',
  blocks: [{ model: 802, address: 100, function: 'input', points: [{ name: 'SoC', type: 'uint16', size: 1, sf: -1 }, { name: 'SoH', type: 'uint16', size: 1, sf: 0 }] }],
};

describe('profile store', () => {
  let dir: string;
  let store: ProfileStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lifo4-profiles-'));
    store = new ProfileStore(join(dir, 'profiles'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('lists nothing before the first save, then saves and loads a profile unchanged', async () => {
    assert.deepEqual(await store.list(), []);
    await store.save('two-regs', PROFILE);
    assert.deepEqual(await store.load('two-regs'), PROFILE);
    assert.deepEqual(await store.list(), [{ file: 'two-regs', name: 'Two registers', kind: 'battery', blocks: 1 }]);
    assert.deepEqual(readdirSync(join(dir, 'profiles')), ['two-regs.json'], 'no temp file left behind');
  });

  it('refuses names that could leave the directory or are not [A-Za-z0-9_-]', async () => {
    for (const bad of ['../evil', '..', 'a/b', 'a\\b', 'x.json', '', 'a b', 'ü', 'a'.repeat(65)]) {
      await assert.rejects(store.save(bad, PROFILE), /letters, digits|required|at most 64/, bad);
      await assert.rejects(store.load(bad), /letters, digits|required|at most 64/, bad);
    }
    assert.equal(existsSync(join(dir, 'evil.json')), false);
    assert.equal(existsSync(join(dir, 'profiles')), false, 'nothing was written');
  });

  it('refuses an invalid profile with every problem named, and writes nothing', async () => {
    const bad = { ...PROFILE, blocks: [{ ...PROFILE.blocks[0], points: [{ name: 'SoC', type: 'uint16', size: 1, sf: 'SoC_SF' }] }] };
    await assert.rejects(store.save('bad', bad), (err: Error) => err instanceof ProfileError && /SoC scales by SoC_SF, which is not a sunssf point/.test(err.message));
    await assert.rejects(store.save('bad', { name: 'x', kind: 'toaster', blocks: [] }), (err: Error) => err instanceof ProfileError && /kind/.test(err.message) && /blocks/.test(err.message));
    await assert.rejects(store.load('bad'), ProfileNotFoundError);
  });

  it('leaves a hand-edited file that does not parse out of the list, and says why on load', async () => {
    await store.save('good', PROFILE);
    writeFileSync(join(dir, 'profiles', 'broken.json'), '{"name": "x"');
    writeFileSync(join(dir, 'profiles', 'notes.txt'), 'not a profile');
    assert.deepEqual((await store.list()).map((p) => p.file), ['good']);
    await assert.rejects(store.load('broken'), /not valid JSON/);
  });
});
