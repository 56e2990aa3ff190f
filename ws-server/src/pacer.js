// How long the stream waits between two polls of metric_records.
//
// While rows flow the wait is TICK_MS, so a row waits TICK_MS/2 on average for
// the poll that finds it. When polls keep coming back empty the wait doubles
// after every TICK_BACKOFF_POLLS of them, up to TICK_IDLE_MS, so an idle
// dashboard costs the database little; the first poll that sees a row brings
// the wait straight back to TICK_MS. A row after a quiet spell therefore waits
// at most about spell / TICK_BACKOFF_POLLS + TICK_MS (each step lasts
// TICK_BACKOFF_POLLS times its own wait), and never more than TICK_IDLE_MS.
//
// Polling (rather than a notification from the routes) is what needs nothing
// from anybody else: each replica polls on its own, any number of route pods
// just insert, and a database restart is just a few failed polls.
export class TickPacer {
  constructor({ tickMs, idleTickMs, backoffPolls }) {
    this.tickMs = tickMs;
    this.idleTickMs = idleTickMs;
    this.backoffPolls = backoffPolls;
    this.intervalMs = tickMs;
    this.emptyPolls = 0; // empty polls at the current interval
  }

  // sawRows: the poll found rows (delivered or held back behind a gap) or has
  // work right behind it; a failed poll is an empty one, so a database that
  // is down is retried at the idle pace, not hammered.
  afterPoll(sawRows) {
    if (sawRows) {
      this.intervalMs = this.tickMs;
      this.emptyPolls = 0;
      return;
    }
    if (this.intervalMs >= this.idleTickMs) return;
    this.emptyPolls += 1;
    if (this.emptyPolls < this.backoffPolls) return;
    this.emptyPolls = 0;
    this.intervalMs = Math.min(this.idleTickMs, this.intervalMs * 2);
  }
}
