package agent

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"so1fase2/go-agent/internal/collector"
)

// Server holds the agent's sources and its HTTP handler.
type Server struct {
	cpu      *CPUSampler
	snapshot *SnapshotReader
	reads    *collector.Reads
	registry *prometheus.Registry
	requests *prometheus.HistogramVec
}

// NewServer wires the sources, and the reads they share, into a gin engine.
func NewServer(cpu *CPUSampler, snapshot *SnapshotReader, reads *collector.Reads) *Server {
	s := &Server{cpu: cpu, snapshot: snapshot, reads: reads, registry: prometheus.NewRegistry()}
	s.requests = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "agent_http_request_duration_seconds",
		Help:    "HTTP requests served by the agent, by path, method and status.",
		Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1},
	}, []string{"path", "method", "status"})
	s.registry.MustRegister(s.requests, &gaugeCollector{s: s},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return s
}

// Handler returns the HTTP handler: /api/metrics, /healthz, /readyz, /metrics.
func (s *Server) Handler() http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.Recovery(), s.observe)
	r.GET("/api/metrics", s.record)
	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/readyz", s.ready)
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{})))
	return r
}

func (s *Server) observe(c *gin.Context) {
	start := time.Now()
	c.Next()
	path := c.FullPath()
	if path == "" {
		path = "unmatched" // keeps label cardinality bounded
	}
	s.requests.WithLabelValues(path, c.Request.Method, strconv.Itoa(c.Writer.Status())).
		Observe(time.Since(start).Seconds())
}

func (s *Server) record(c *gin.Context) {
	rec, err := BuildRecord(s.cpu.Latest(), s.snapshot.Read())
	if err != nil {
		c.JSON(http.StatusServiceUnavailable, gin.H{"error": err.Error()})
		return
	}
	c.JSON(http.StatusOK, rec)
}

type sourceStatus struct {
	Source string `json:"source"`
	Error  string `json:"error,omitempty"`
}

func status(source string, err error) sourceStatus {
	st := sourceStatus{Source: source}
	if err != nil {
		st.Error = err.Error()
	}
	return st
}

// ready answers 503 with the reason when any source cannot be read.
func (s *Server) ready(c *gin.Context) {
	cpu := s.cpu.Latest()
	snap := s.snapshot.Read()
	code := http.StatusOK
	if cpu.Err != nil || snap.RAMErr != nil || snap.ProcsErr != nil {
		code = http.StatusServiceUnavailable
	}
	c.JSON(code, gin.H{
		"ready": code == http.StatusOK,
		"fuente": gin.H{
			"cpu":      status(cpu.Source, cpu.Err),
			"ram":      status(snap.RAMSource, snap.RAMErr),
			"procesos": status(snap.ProcsSource, snap.ProcsErr),
		},
	})
}

// gaugeCollector exposes the record's figures at scrape time, from the same sources.
type gaugeCollector struct{ s *Server }

var (
	descCPU      = prometheus.NewDesc("agent_cpu_busy_percent", "CPU busy over the last sampling window.", []string{"source"}, nil)
	descRAMTotal = prometheus.NewDesc("agent_ram_total_mib", "Total RAM, MiB.", []string{"source"}, nil)
	descRAMUsed  = prometheus.NewDesc("agent_ram_used_mib", "RAM in use (total - available), MiB.", []string{"source"}, nil)
	descRAMFree  = prometheus.NewDesc("agent_ram_free_bytes", "Free RAM, bytes.", []string{"source"}, nil)
	descRAMPct   = prometheus.NewDesc("agent_ram_used_percent", "RAM in use, percent of total.", []string{"source"}, nil)
	descProcs    = prometheus.NewDesc("agent_processes", "Processes by state.", []string{"source", "state"}, nil)
	descUp       = prometheus.NewDesc("agent_source_up", "1 when the part could be read.", []string{"part", "source"}, nil)
	descTimeouts = prometheus.NewDesc("agent_proc_read_timeouts_total",
		"Reads of a proc file (or process scans, file=<root>/[pid]/stat) that exceeded AGENT_PROC_READ_TIMEOUT.", []string{"file"}, nil)
	descInFlight = prometheus.NewDesc("agent_proc_reads_in_flight", "Proc file reads not returned yet, stuck ones included.", nil, nil)
)

func (g *gaugeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descCPU, descRAMTotal, descRAMUsed, descRAMFree, descRAMPct, descProcs, descUp, descTimeouts, descInFlight} {
		ch <- d
	}
}

func (g *gaugeCollector) Collect(ch chan<- prometheus.Metric) {
	cpu := g.s.cpu.Latest()
	snap := g.s.snapshot.Read()
	up := func(part, source string, err error) {
		v := 1.0
		if err != nil {
			v = 0
		}
		ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, v, part, source)
	}
	up("cpu", cpu.Source, cpu.Err)
	up("ram", snap.RAMSource, snap.RAMErr)
	up("procesos", snap.ProcsSource, snap.ProcsErr)
	for file, n := range g.s.reads.Timeouts() {
		ch <- prometheus.MustNewConstMetric(descTimeouts, prometheus.CounterValue, float64(n), file)
	}
	ch <- prometheus.MustNewConstMetric(descInFlight, prometheus.GaugeValue, float64(g.s.reads.InFlight()))
	if cpu.Err == nil {
		ch <- prometheus.MustNewConstMetric(descCPU, prometheus.GaugeValue, cpu.BusyPercent, cpu.Source)
	}
	if snap.RAMErr == nil {
		r, src := snap.RAM, snap.RAMSource
		ch <- prometheus.MustNewConstMetric(descRAMTotal, prometheus.GaugeValue, float64(r.TotalMiB), src)
		ch <- prometheus.MustNewConstMetric(descRAMUsed, prometheus.GaugeValue, float64(r.UsedMiB), src)
		ch <- prometheus.MustNewConstMetric(descRAMFree, prometheus.GaugeValue, float64(r.FreeBytes), src)
		ch <- prometheus.MustNewConstMetric(descRAMPct, prometheus.GaugeValue, r.UsedPercent, src)
	}
	if snap.ProcsErr == nil {
		p, src := snap.Procs, snap.ProcsSource
		for state, n := range map[string]uint64{"running": p.Running, "sleeping": p.Sleeping, "zombie": p.Zombie, "stopped": p.Stopped} {
			ch <- prometheus.MustNewConstMetric(descProcs, prometheus.GaugeValue, float64(n), src, state)
		}
	}
}
