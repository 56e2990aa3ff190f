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
// it, so each read runs in its own goroutine and the caller stops waiting after the
// timeout. At most one read per file is in flight: while one is stuck, later reads of
// that file fail at once instead of each leaving a goroutine behind.
type Reads struct {
	timeout time.Duration

	mu       sync.Mutex
	inFlight map[string]*atomic.Pointer[string] // file label -> the file being read now
	timeouts map[string]uint64                  // file label -> reads that exceeded the timeout
}

// NewReads returns reads with the given deadline.
func NewReads(timeout time.Duration) *Reads {
	return &Reads{timeout: timeout, inFlight: map[string]*atomic.Pointer[string]{}, timeouts: map[string]uint64{}}
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

// guardedRead runs read under r's deadline. label names the file (or, for the process
// scan, the family of files) for the one-read-in-flight rule and the metrics; read
// stores in current the path it is blocked on, which the timeout error names.
func guardedRead[T any](r *Reads, label string, read func(current *atomic.Pointer[string]) (T, error)) (T, error) {
	var zero T
	r.mu.Lock()
	if current, busy := r.inFlight[label]; busy {
		r.mu.Unlock()
		return zero, &ReadTimeoutError{Path: *current.Load(), Timeout: r.timeout, Pending: true}
	}
	current := new(atomic.Pointer[string])
	current.Store(&label)
	r.inFlight[label] = current
	r.mu.Unlock()

	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1) // buffered: a read that returns after the timeout does not block
	go func() {
		v, err := read(current)
		r.mu.Lock()
		delete(r.inFlight, label)
		r.mu.Unlock()
		done <- result{v, err}
	}()
	timer := time.NewTimer(r.timeout)
	defer timer.Stop()
	select {
	case res := <-done:
		return res.v, res.err
	case <-timer.C:
		r.mu.Lock()
		r.timeouts[label]++
		r.mu.Unlock()
		return zero, &ReadTimeoutError{Path: *current.Load(), Timeout: r.timeout}
	}
}
