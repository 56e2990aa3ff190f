// Package agent serves the VM's readings over HTTP: one record per GET /api/metrics.
package agent

import (
	"context"
	"errors"
	"math"
	"sync"
	"time"

	"so1fase2/go-agent/internal/collector"
)

// Fuente says which source served each part of a record.
type Fuente struct {
	CPU      string `json:"cpu"`
	RAM      string `json:"ram"`
	Procesos string `json:"procesos"`
}

// CPUReading is the busy share over the last sampling window.
type CPUReading struct {
	BusyPercent float64
	Source      string
	Err         error
	At          time.Time
}

// errCPUNotSampled is the CPU's state until one full window has passed.
var errCPUNotSampled = errors.New("cpu: first sampling window not finished yet")

// CPUSampler reads the cumulative CPU counters every window in the background and keeps
// the utilisation of the last window, so a request never waits and never sees the
// since-boot average.
type CPUSampler struct {
	cfg    collector.Config
	window time.Duration

	mu     sync.RWMutex
	latest CPUReading
}

// NewCPUSampler returns a sampler; Run starts it.
func NewCPUSampler(cfg collector.Config, window time.Duration) *CPUSampler {
	return &CPUSampler{cfg: cfg, window: window, latest: CPUReading{Err: errCPUNotSampled}}
}

// Latest returns the last window's reading.
func (s *CPUSampler) Latest() CPUReading {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.latest
}

// Start takes the baseline reading now and samples every window until ctx ends;
// the returned channel closes when sampling has stopped.
func (s *CPUSampler) Start(ctx context.Context) <-chan struct{} {
	prev, prevSource, prevErr := collector.ReadCPU(s.cfg)
	if prevErr != nil {
		s.set(CPUReading{Source: prevSource, Err: prevErr, At: time.Now()})
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.run(ctx, prev, prevSource, prevErr)
	}()
	return done
}

func (s *CPUSampler) run(ctx context.Context, prev collector.CPUTimes, prevSource string, prevErr error) {
	t := time.NewTicker(s.window)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cur, source, err := collector.ReadCPU(s.cfg)
		now := time.Now()
		switch {
		case err != nil:
			s.set(CPUReading{Source: source, Err: err, At: now})
		case prevErr != nil || source != prevSource:
			// No valid baseline from the same source yet: this reading becomes it.
			s.set(CPUReading{Source: source, Err: errCPUNotSampled, At: now})
		default:
			if pct, ok := collector.BusyPercent(prev, cur); ok {
				s.set(CPUReading{BusyPercent: pct, Source: source, At: now})
			} // else: counters did not advance; keep the previous window's figure
		}
		prev, prevSource, prevErr = cur, source, err
	}
}

func (s *CPUSampler) set(r CPUReading) {
	s.mu.Lock()
	s.latest = r
	s.mu.Unlock()
}

// Snapshot is one reading of RAM and processes.
type Snapshot struct {
	RAM         collector.RAM
	Procs       collector.Procs
	RAMSource   string
	ProcsSource string
	RAMErr      error
	ProcsErr    error
	At          time.Time
}

// SnapshotReader reads RAM and processes, sharing one reading among the requests that
// arrive within ttl (ttl 0: every request reads the files itself). Between ttl and
// 10*ttl a request gets the cached reading at once while one background read refreshes
// it, so no request waits for a /proc scan under steady load; an older reading (an idle
// agent) is never served: the request reads synchronously.
type SnapshotReader struct {
	cfg collector.Config
	ttl time.Duration

	mu         sync.Mutex
	last       Snapshot
	refreshing bool
}

// NewSnapshotReader returns a reader with the given cache lifetime.
func NewSnapshotReader(cfg collector.Config, ttl time.Duration) *SnapshotReader {
	return &SnapshotReader{cfg: cfg, ttl: ttl}
}

// Read returns a snapshot at most ttl old, or at most 10*ttl old while a refresh runs.
func (r *SnapshotReader) Read() Snapshot {
	if r.ttl <= 0 {
		return r.read()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	age := time.Since(r.last.At)
	switch {
	case !r.last.At.IsZero() && age < r.ttl:
	case !r.last.At.IsZero() && age < 10*r.ttl:
		if !r.refreshing {
			r.refreshing = true
			go r.refresh()
		}
	default:
		// Reading under the lock makes concurrent requests wait for this one read
		// instead of all scanning /proc at once.
		r.last = r.read()
	}
	return r.last
}

func (r *SnapshotReader) refresh() {
	s := r.read()
	r.mu.Lock()
	if s.At.After(r.last.At) {
		r.last = s
	}
	r.refreshing = false
	r.mu.Unlock()
}

func (r *SnapshotReader) read() Snapshot {
	var s Snapshot
	s.RAM, s.RAMSource, s.RAMErr = collector.ReadRAM(r.cfg)
	s.Procs, s.ProcsSource, s.ProcsErr = collector.ReadProcs(r.cfg)
	s.At = time.Now()
	return s
}

// Record is the wire record (contracts/metric-record.schema.json) plus "fuente".
type Record struct {
	TotalRAM           uint64  `json:"total_ram"`
	RAMLibre           uint64  `json:"ram_libre"`
	UsoRAM             uint64  `json:"uso_ram"`
	PorcentajeRAM      float64 `json:"porcentaje_ram"`
	PorcentajeCPUUso   float64 `json:"porcentaje_cpu_uso"`
	PorcentajeCPULibre float64 `json:"porcentaje_cpu_libre"`
	ProcesosCorriendo  uint64  `json:"procesos_corriendo"`
	TotalProcesos      uint64  `json:"total_procesos"`
	ProcesosDurmiendo  uint64  `json:"procesos_durmiendo"`
	ProcesosZombie     uint64  `json:"procesos_zombie"`
	ProcesosParados    uint64  `json:"procesos_parados"`
	Hora               string  `json:"hora"`
	Fuente             Fuente  `json:"fuente"`
}

// HoraLayout is the record's time format, always UTC.
const HoraLayout = "2006-01-02 15:04:05"

// BuildRecord assembles a record, or returns the first source's error.
func BuildRecord(cpu CPUReading, snap Snapshot) (Record, error) {
	if err := errors.Join(cpu.Err, snap.RAMErr, snap.ProcsErr); err != nil {
		return Record{}, err
	}
	busy := math.Round(cpu.BusyPercent*100) / 100
	return Record{
		TotalRAM:           snap.RAM.TotalMiB,
		RAMLibre:           snap.RAM.FreeBytes,
		UsoRAM:             snap.RAM.UsedMiB,
		PorcentajeRAM:      snap.RAM.UsedPercent,
		PorcentajeCPUUso:   busy,
		PorcentajeCPULibre: math.Round((100-busy)*100) / 100,
		ProcesosCorriendo:  snap.Procs.Running,
		TotalProcesos:      snap.Procs.Total,
		ProcesosDurmiendo:  snap.Procs.Sleeping,
		ProcesosZombie:     snap.Procs.Zombie,
		ProcesosParados:    snap.Procs.Stopped,
		Hora:               snap.At.UTC().Format(HoraLayout),
		Fuente:             Fuente{CPU: cpu.Source, RAM: snap.RAMSource, Procesos: snap.ProcsSource},
	}, nil
}
