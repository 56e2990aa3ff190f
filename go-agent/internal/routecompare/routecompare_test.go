package routecompare

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// routeMetrics is a route's real client_golang registry with the contract's metrics.
type routeMetrics struct {
	reg      *prometheus.Registry
	duration *prometheus.HistogramVec
	records  *prometheus.CounterVec
	route    string
}

func newRouteMetrics(route string) *routeMetrics {
	m := &routeMetrics{reg: prometheus.NewRegistry(), route: route}
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "ingest_http_request_duration_seconds",
		Help:    "every HTTP request",
		Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5},
	}, []string{"route", "method", "path", "status"})
	m.records = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ingest_records_total", Help: "records"},
		[]string{"route", "outcome"})
	m.reg.MustRegister(m.duration, m.records, prometheus.NewGoCollector())
	return m
}

func (m *routeMetrics) observe(n int, method, path, status string, seconds float64) {
	for i := 0; i < n; i++ {
		m.duration.WithLabelValues(m.route, method, path, status).Observe(seconds)
	}
}

func approx(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-9 {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// twoRoutes serves python and node metrics; afterFirst runs once, after the first python scrape.
func twoRoutes(t *testing.T, afterFirst func(py *routeMetrics)) ([]LocalRoute, *routeMetrics, *routeMetrics) {
	py, node := newRouteMetrics("python"), newRouteMetrics("node")
	py.observe(80, "POST", "/api/metrics", "201", 0.002)
	py.observe(20, "POST", "/api/metrics", "201", 0.02)
	py.observe(10, "POST", "/api/metrics", "422", 0.0005)
	py.observe(5, "GET", "/healthz", "200", 1) // not the ingestion endpoint: excluded
	py.records.WithLabelValues("python", "stored").Add(100)
	py.records.WithLabelValues("python", "duplicate").Add(3)
	py.records.WithLabelValues("python", "rejected").Add(10)
	node.observe(90, "POST", "/api/metrics", "201", 0.004)
	node.records.WithLabelValues("node", "stored").Add(90)

	var scrapes atomic.Int32
	pyHandler := promhttp.HandlerFor(py.reg, promhttp.HandlerOpts{})
	pySrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pyHandler.ServeHTTP(w, r)
		if scrapes.Add(1) == 1 && afterFirst != nil {
			afterFirst(py)
		}
	}))
	nodeSrv := httptest.NewServer(promhttp.HandlerFor(node.reg, promhttp.HandlerOpts{}))
	t.Cleanup(pySrv.Close)
	t.Cleanup(nodeSrv.Close)
	return []LocalRoute{{"python", pySrv.URL}, {"node", nodeSrv.URL}}, py, node
}

func TestLocalTotals(t *testing.T) {
	routes, _, _ := twoRoutes(t, nil)
	stats, err := ScrapeLocal(context.Background(), http.DefaultClient, routes, 0)
	if err != nil {
		t.Fatal(err)
	}
	py, node := stats[0], stats[1]
	approx(t, "python requests", py.Requests, 110)
	approx(t, "python success %", py.SuccessPercent(), 100.0/110*100)
	// Buckets (ms): 1:10, 2.5:90, 25:110. p50 = rank 55 in (1, 2.5]: 1 + 1.5*45/80.
	approx(t, "python p50", py.Quantile(0.5), 1+1.5*45.0/80)
	approx(t, "python p95", py.Quantile(0.95), 10+15*14.5/20)
	approx(t, "python p99", py.Quantile(0.99), 10+15*18.9/20)
	approx(t, "node requests", node.Requests, 90)
	approx(t, "node success %", node.SuccessPercent(), 100)
	approx(t, "node p50", node.Quantile(0.5), 2.5+2.5*45.0/90)
	split := SplitPercents(stats)
	approx(t, "python split", split[0], 55)
	approx(t, "node split", split[1], 45)
	if !math.IsNaN(py.RecordsPerSecond()) {
		t.Errorf("records/s without a window or a database must be unknown, got %v", py.RecordsPerSecond())
	}
}

func TestLocalWindowReportsDeltas(t *testing.T) {
	routes, _, _ := twoRoutes(t, func(py *routeMetrics) {
		py.observe(40, "POST", "/api/metrics", "201", 0.007)
		py.records.WithLabelValues("python", "stored").Add(40)
	})
	stats, err := ScrapeLocal(context.Background(), http.DefaultClient, routes, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	py, node := stats[0], stats[1]
	approx(t, "python requests in window", py.Requests, 40)
	approx(t, "python records/s", py.RecordsPerSecond(), 40/0.2)
	approx(t, "python p50 in window", py.Quantile(0.5), 5+5*20.0/40) // all in (5, 10]
	approx(t, "node requests in window", node.Requests, 0)
	if !math.IsNaN(node.Quantile(0.5)) {
		t.Errorf("no traffic: quantile must be unknown, got %v", node.Quantile(0.5))
	}
	var out bytes.Buffer
	if err := WriteTable(&out, stats); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "200.0") || !strings.Contains(out.String(), "100.0") {
		t.Errorf("table lacks records/s 200.0 or split 100.0:\n%s", out.String())
	}
}

func TestLocalErrors(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	garbage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ingest_http_request_duration_seconds{ not prometheus\n")
	}))
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "# TYPE up gauge\nup 1\n")
	}))
	defer down.Close()
	defer garbage.Close()
	defer other.Close()
	for url, want := range map[string]string{down.URL: "status 404", garbage.URL: "text format parsing error", other.URL: "no histogram"} {
		_, err := ScrapeLocal(context.Background(), http.DefaultClient, []LocalRoute{{"python", url}}, 0)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "route python") {
			t.Errorf("%s: want error with %q, got %v", url, want, err)
		}
	}
	if _, err := ParseLocalRoutes("python=http://a,node"); err == nil {
		t.Error("bad -routes accepted")
	}
}

func TestHistogramQuantileEdges(t *testing.T) {
	inf := math.Inf(1)
	if v := HistogramQuantile(0.99, []Bucket{{1, 0}, {5, 1}, {inf, 100}}); v != 5 {
		t.Errorf("rank in +Inf bucket: want highest finite bound 5, got %v", v)
	}
	if v := HistogramQuantile(0.5, []Bucket{{10, 4}, {inf, 4}}); v != 5 {
		t.Errorf("first bucket interpolates from 0: got %v", v)
	}
	if !math.IsNaN(HistogramQuantile(0.5, []Bucket{{10, 4}})) {
		t.Error("no +Inf bucket must give NaN")
	}
	if !math.IsNaN(HistogramQuantile(0.5, []Bucket{{10, 0}, {inf, 0}})) {
		t.Error("no observations must give NaN")
	}
}

func TestSVGIsWellFormed(t *testing.T) {
	routes, _, _ := twoRoutes(t, nil)
	stats, err := ScrapeLocal(context.Background(), http.DefaultClient, routes, 0)
	if err != nil {
		t.Fatal(err)
	}
	stats = append(stats, RouteStats{Route: "idle <&>"}) // no traffic, escaped name
	var out bytes.Buffer
	if err := WriteSVG(&out, "routes & split", stats); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(out.Bytes()))
	rects := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v\n%s", err, out.String())
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "rect" {
			rects++
		}
	}
	// background + 3 routes x 3 bars + 3 legend swatches + 2 split segments
	if rects != 1+9+3+2 {
		t.Errorf("%d rects", rects)
	}
	for _, label := range []string{"55.0%", "45.0%", "python p99", "idle &lt;&amp;&gt;"} {
		if !strings.Contains(out.String(), label) {
			t.Errorf("SVG lacks %q", label)
		}
	}
}

// The exposition text of the routes' real libraries parses to the same figures.
func TestRealLibraryExposition(t *testing.T) {
	var urls []LocalRoute
	for _, f := range []struct{ route, file string }{{"python", "python-prometheus_client.txt"}, {"node", "node-prom-client.txt"}} {
		data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "route-metrics", f.file))
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(data) }))
		defer srv.Close()
		urls = append(urls, LocalRoute{f.route, srv.URL})
	}
	stats, err := ScrapeLocal(context.Background(), http.DefaultClient, urls, 0)
	if err != nil {
		t.Fatal(err)
	}
	approx(t, "python requests (the GET excluded)", stats[0].Requests, 10)
	approx(t, "python p50", stats[0].Quantile(0.5), 2.5+2.5*5.0/10)
	approx(t, "node requests", stats[1].Requests, 30)
	approx(t, "node p99", stats[1].Quantile(0.99), 5+5*29.7/30)
	approx(t, "split", SplitPercents(stats)[1], 75)
}
