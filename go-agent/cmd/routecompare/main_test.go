package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const routeMetrics = `# HELP ingest_http_request_duration_seconds every HTTP request
# TYPE ingest_http_request_duration_seconds histogram
ingest_http_request_duration_seconds_bucket{route="%s",method="POST",path="/api/metrics",status="201",le="0.005"} 10
ingest_http_request_duration_seconds_bucket{route="%s",method="POST",path="/api/metrics",status="201",le="+Inf"} 10
ingest_http_request_duration_seconds_sum{route="%s",method="POST",path="/api/metrics",status="201"} 0.02
ingest_http_request_duration_seconds_count{route="%s",method="POST",path="/api/metrics",status="201"} 10
# TYPE ingest_records_total counter
ingest_records_total{route="%s",outcome="stored"} 10
`

func serve(t *testing.T, route string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.ReplaceAll(routeMetrics, "%s", route))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestRunLocalWritesSVG(t *testing.T) {
	t.Setenv("DB_HOST", "") // the database side has its own test
	svg := filepath.Join(t.TempDir(), "routes.svg")
	args := []string{"-db=false", "-routes", "python=" + serve(t, "python") + ",node=" + serve(t, "node"), "-svg", svg}
	if err := run(args, io.Discard); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(svg)
	if err != nil || !strings.Contains(string(data), "python 50.0%") || !strings.HasSuffix(string(data), "</svg>\n") {
		t.Fatalf("svg: %v\n%s", err, data)
	}
}

func TestRunRejectsBadArguments(t *testing.T) {
	for _, args := range [][]string{
		{"-mode", "nowhere", "-db=false"},
		{"-routes", "python", "-db=false"},
		{"-mode", "cluster", "-backends", "route1-python", "-db=false"},
		{"-mode", "cluster", "-deployments", "python=", "-db=false"},
		{"-mode", "cluster", "-ingress", "ingress-nginx-controller", "-db=false"},
		{"-mode", "cluster", "-prometheus", "::not a url", "-db=false"},
		{"-since", "yesterday", "-db=false"},
	} {
		if err := run(args, io.Discard); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	if got, _ := parseSince("10m", now); !got.Equal(now.Add(-10 * time.Minute)) {
		t.Errorf("-since 10m = %v", got)
	}
	if got, _ := parseSince("2026-11-26T11:00:00Z", now); !got.Equal(now.Add(-time.Hour)) {
		t.Errorf("-since RFC 3339 = %v", got)
	}
	// Cluster mode counts from -since, else -window (default 5m) before now, to now.
	for _, c := range []struct {
		since  time.Time
		window time.Duration
		start  time.Time
	}{
		{time.Time{}, 0, now.Add(-5 * time.Minute)},
		{time.Time{}, 30 * time.Minute, now.Add(-30 * time.Minute)},
		{now.Add(-time.Hour), 30 * time.Minute, now.Add(-time.Hour)},
	} {
		if start, end := clusterWindow(c.since, c.window, now); !start.Equal(c.start) || !end.Equal(now) {
			t.Errorf("clusterWindow(%v, %v) = %v, %v; want %v, %v", c.since, c.window, start, end, c.start, now)
		}
	}
}
