package routecompare

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Metric names and labels fixed by contracts/ingest-api.yaml.
const (
	durationMetric = "ingest_http_request_duration_seconds"
	recordsMetric  = "ingest_records_total"
	ingestMethod   = "POST"
	ingestPath     = "/api/metrics"
)

// LocalRoute is one route's Prometheus endpoint.
type LocalRoute struct {
	Name string // "python" or "node", as in metric_records.route
	URL  string // e.g. http://127.0.0.1:8001/metrics
}

// scrape is what one /metrics read gives for the ingestion endpoint.
type scrape struct {
	requests, success, stored float64
	buckets                   []Bucket
}

// ScrapeLocal reads every route's /metrics; with window > 0 it reads them again after
// window and reports the counters' deltas (the traffic of that window), else the totals
// since each route started.
func ScrapeLocal(ctx context.Context, client *http.Client, routes []LocalRoute, window time.Duration) ([]RouteStats, error) {
	first := make([]scrape, len(routes))
	for i, r := range routes {
		s, err := scrapeOne(ctx, client, r.URL)
		if err != nil {
			return nil, fmt.Errorf("route %s: %w", r.Name, err)
		}
		first[i] = s
	}
	out := make([]RouteStats, len(routes))
	if window <= 0 {
		for i, r := range routes {
			out[i] = RouteStats{Route: r.Name, Requests: first[i].requests, Success: first[i].success, Buckets: first[i].buckets}
		}
		return out, nil
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(window):
	}
	for i, r := range routes {
		s, err := scrapeOne(ctx, client, r.URL)
		if err != nil {
			return nil, fmt.Errorf("route %s: %w", r.Name, err)
		}
		if s.requests < first[i].requests {
			return nil, fmt.Errorf("route %s: counters went down between scrapes (restarted?)", r.Name)
		}
		out[i] = RouteStats{Route: r.Name, Requests: s.requests - first[i].requests, Success: s.success - first[i].success,
			Buckets: subtractBuckets(s.buckets, first[i].buckets), StoredRecords: s.stored - first[i].stored, Window: window}
	}
	return out, nil
}

func scrapeOne(ctx context.Context, client *http.Client, url string) (scrape, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return scrape{}, err
	}
	// The classic text format: both prom-client and prometheus_client serve it.
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := client.Do(req)
	if err != nil {
		return scrape{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return scrape{}, fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return scrape{}, fmt.Errorf("GET %s: %w", url, err)
	}
	return parseFamilies(url, families)
}

func parseFamilies(url string, families map[string]*dto.MetricFamily) (scrape, error) {
	var s scrape
	hist, ok := families[durationMetric]
	if !ok || hist.GetType() != dto.MetricType_HISTOGRAM {
		return s, fmt.Errorf("%s: no histogram %s", url, durationMetric)
	}
	byBound := map[float64]float64{}
	for _, m := range hist.GetMetric() {
		l := labels(m)
		if l["method"] != ingestMethod || l["path"] != ingestPath {
			continue
		}
		h := m.GetHistogram()
		n := float64(h.GetSampleCount())
		s.requests += n
		if strings.HasPrefix(l["status"], "2") {
			s.success += n
		}
		for _, b := range h.GetBucket() {
			if math.IsInf(b.GetUpperBound(), 1) {
				continue // added below from the sample count, whether or not the parser keeps it
			}
			byBound[b.GetUpperBound()*1000] += float64(b.GetCumulativeCount())
		}
		byBound[math.Inf(1)] += n // the text format's +Inf bucket is the sample count
	}
	for bound, count := range byBound {
		s.buckets = append(s.buckets, Bucket{UpperMs: bound, Count: count})
	}
	if rec, ok := families[recordsMetric]; ok {
		for _, m := range rec.GetMetric() {
			if labels(m)["outcome"] == "stored" {
				s.stored += m.GetCounter().GetValue()
			}
		}
	}
	return s, nil
}

func labels(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// ParseLocalRoutes parses the -routes flag: "python=http://...,node=http://...".
func ParseLocalRoutes(spec string) ([]LocalRoute, error) {
	return parseNamed(spec, "-routes", "name=http://host:port/metrics", func(name, url string) (LocalRoute, bool) {
		return LocalRoute{Name: name, URL: url}, strings.HasPrefix(url, "http")
	})
}

// parseNamed parses a comma-separated flag value of name=value pairs; each pair becomes
// a T through build, which also says whether the value is acceptable.
func parseNamed[T any](spec, flagName, form string, build func(name, value string) (T, bool)) ([]T, error) {
	var out []T
	for _, part := range strings.Split(spec, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(part), "=")
		v, ok := build(name, value)
		if name == "" || value == "" || !ok {
			return nil, fmt.Errorf("%s %q: want %s", flagName, part, form)
		}
		out = append(out, v)
	}
	return out, nil
}
