package collector

import (
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"time"
)

// ReadTimeoutError is the error of a proc file read that did not finish in time, or of a
// read refused because an earlier read of the same file is still stuck.
type ReadTimeoutError struct {
	Path    string // the file the read was blocked on
	Timeout time.Duration
	Pending bool // refused: an earlier read of this file has not returned yet
}

func (e *ReadTimeoutError) Error() string {
	if e.Pending {
		return fmt.Sprintf("%s: an earlier read is still blocked (more than %s), not read again until it returns", e.Path, e.Timeout)
	}
	return fmt.Sprintf("%s: read did not finish within %s", e.Path, e.Timeout)
}

// Reads runs the reads of proc files with a deadline. A read of a file in /proc can block
// in the kernel (a stuck module, a process holding a lock) and no deadline can interrupt
// it, so each read runs in its own goroutine and its callers stop waiting at the deadline.
// At most one read per file is in flight: callers that come while it runs share its
// result, and once it has run past its deadline later callers fail at once instead of
// each leaving a goroutine behind.
type Reads struct {
	timeout time.Duration

	mu       sync.Mutex
	inFlight map[string]*pendingRead // file label -> its read in flight
	timeouts map[string]uint64       // file label -> reads that exceeded the timeout
}

// pendingRead is one read in flight; value and err are set before done is closed.
type pendingRead struct {
	current  *atomic.Pointer[string] // the file the read is on now
	deadline time.Time
	done     chan struct{}
	value    any
	err      error
	timedOut bool // counted in timeouts already; guarded by Reads.mu
}

// NewReads returns reads with the given deadline.
func NewReads(timeout time.Duration) *Reads {
	return &Reads{timeout: timeout, inFlight: map[string]*pendingRead{}, timeouts: map[string]uint64{}}
}

// InFlight returns the number of reads that have not returned yet, stuck ones included.
func (r *Reads) InFlight() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.inFlight)
}

// Timeouts returns, per file label, how many reads exceeded the timeout.
func (r *Reads) Timeouts() map[string]uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.timeouts)
}

// guardedRead runs read under r's deadline, or joins the read of label already in flight.
// label names the file (or, for the process scan, the family of files) for the
// one-read-in-flight rule and the metrics; one label is always read into one type T.
// read stores in current the path it is on, which a timeout error names.
func guardedRead[T any](r *Reads, label string, read func(current *atomic.Pointer[string]) (T, error)) (T, error) {
	var zero T
	r.mu.Lock()
	p, joined := r.inFlight[label]
	if joined && !time.Now().Before(p.deadline) {
		r.mu.Unlock()
		return zero, &ReadTimeoutError{Path: *p.current.Load(), Timeout: r.timeout, Pending: true}
	}
	if !joined {
		p = &pendingRead{current: new(atomic.Pointer[string]), deadline: time.Now().Add(r.timeout), done: make(chan struct{})}
		p.current.Store(&label)
		r.inFlight[label] = p
		go func() {
			p.value, p.err = read(p.current)
			r.mu.Lock()
			delete(r.inFlight, label)
			r.mu.Unlock()
			close(p.done)
		}()
	}
	r.mu.Unlock()

	timer := time.NewTimer(time.Until(p.deadline))
	defer timer.Stop()
	select {
	case <-p.done:
		return p.value.(T), p.err
	case <-timer.C:
		r.mu.Lock()
		if !p.timedOut {
			p.timedOut = true
			r.timeouts[label]++
		}
		r.mu.Unlock()
		return zero, &ReadTimeoutError{Path: *p.current.Load(), Timeout: r.timeout}
	}
}
