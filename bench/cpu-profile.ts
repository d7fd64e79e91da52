// Preloaded into a process the bench starts (NODE_OPTIONS=--require, where --cpu-prof itself is not
// allowed): profiles its main thread from start to exit and writes <dir>/<pid>.cpuprofile, for
// Chrome DevTools or bench/profile-top.ts. The directory comes from LIFO4_CPU_PROF_DIR.
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.LIFO4_CPU_PROF_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 1000 });
  session.post('Profiler.start');
  // A same-thread inspector session answers synchronously, so this works inside 'exit'.
  process.once('exit', () => {
    session.post('Profiler.stop', (err, res) => {
      if (!err) writeFileSync(join(dir, `${process.pid}.cpuprofile`), JSON.stringify(res.profile));
    });
  });
}
