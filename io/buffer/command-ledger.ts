// The ids of the remote commands a site has accepted, kept until they expire, so a replayed
// command is refused even after a restart. It lives in the site's buffer file (its own table, its
// own connection) and commits with synchronous=FULL: an id forgotten in a power loss would let a
// recorded command run twice.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

export class CommandLedger {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement<[string, number]>;
  private readonly removeExpired: Database.Statement<[number]>;
  private lastPrune = 0;

  constructor(path: string, private readonly now: () => number = Date.now) {
    mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec('CREATE TABLE IF NOT EXISTS seen_commands (id TEXT PRIMARY KEY, until INTEGER NOT NULL)');
    this.insert = this.db.prepare('INSERT OR IGNORE INTO seen_commands (id, until) VALUES (?, ?)');
    this.removeExpired = this.db.prepare('DELETE FROM seen_commands WHERE until < ?');
  }

  /** Remember `id` until `until` (ms); false when it was already remembered (a replay). */
  claim(id: string, until: number): boolean {
    const t = this.now();
    if (t - this.lastPrune > 60_000) {
      this.lastPrune = t;
      this.removeExpired.run(t);
    }
    return this.insert.run(id, until).changes === 1;
  }

  get size(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM seen_commands').get() as { n: number }).n;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
