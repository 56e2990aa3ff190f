// Package routecompare compares the two ingestion routes: requests, success,
// latency percentiles, records/s and the observed split, from the routes' own
// Prometheus endpoints (local), from linkerd-viz's Prometheus (cluster: the ingress
// proxy's outbound metrics per backend), and from the database's rows per route.
package routecompare

import (
	"math"
	"sort"
	"time"
)

// Bucket is one cumulative histogram bucket: Count observations <= UpperMs.
type Bucket struct {
	UpperMs float64 // +Inf for the last bucket
	Count   float64
}

// RouteStats is what the report shows for one route.
type RouteStats struct {
	Route    string
	Requests float64 // HTTP requests in the window
	// Responses, when not zero, is what Success counts out of: in the mesh the completed
	// responses, which lag the requests by those still in flight. Zero: Requests.
	Responses float64
	Success   float64 // successful answers (2xx locally; in the mesh no error and not 5xx)
	Buckets   []Bucket
	// StoredRecords and Window give records/s from the routes' own counters (local mode
	// with a window); zero when not measured.
	StoredRecords float64
	Window        time.Duration
	DB            *DBCount // nil when the database was not read
}

// DBCount is the database side of one route.
type DBCount struct {
	Rows        int64
	First, Last time.Time // received_at of the first and last row counted
}

// SuccessPercent is Success/Responses*100 (Success/Requests*100 when Responses is zero),
// NaN without requests.
func (s RouteStats) SuccessPercent() float64 {
	n := s.Responses
	if n == 0 {
		n = s.Requests
	}
	if n == 0 {
		return math.NaN()
	}
	return s.Success / n * 100
}

// Quantile returns the q-quantile in ms, interpolated within buckets.
func (s RouteStats) Quantile(q float64) float64 { return HistogramQuantile(q, s.Buckets) }

// RecordsPerSecond prefers the routes' stored-records counter over the window; without a
// window it falls back to the database: rows / (last - first received_at).
func (s RouteStats) RecordsPerSecond() float64 {
	if s.Window > 0 {
		return s.StoredRecords / s.Window.Seconds()
	}
	if s.DB != nil && s.DB.Last.After(s.DB.First) {
		return float64(s.DB.Rows) / s.DB.Last.Sub(s.DB.First).Seconds()
	}
	return math.NaN()
}

// HistogramQuantile follows Prometheus' histogram_quantile: find the bucket holding
// rank q*total and interpolate linearly inside it (from 0 for the first bucket); a rank
// in the +Inf bucket returns the highest finite bound. NaN without observations.
func HistogramQuantile(q float64, buckets []Bucket) float64 {
	if len(buckets) == 0 || q < 0 || q > 1 {
		return math.NaN()
	}
	b := append([]Bucket(nil), buckets...)
	sort.Slice(b, func(i, j int) bool { return b[i].UpperMs < b[j].UpperMs })
	if !math.IsInf(b[len(b)-1].UpperMs, 1) {
		return math.NaN() // a histogram without +Inf is incomplete
	}
	total := b[len(b)-1].Count
	if total == 0 {
		return math.NaN()
	}
	rank := q * total
	i := sort.Search(len(b), func(i int) bool { return b[i].Count >= rank })
	if i == len(b)-1 {
		if len(b) < 2 {
			return math.NaN()
		}
		return b[len(b)-2].UpperMs
	}
	lower, prevCount := 0.0, 0.0
	if i > 0 {
		lower, prevCount = b[i-1].UpperMs, b[i-1].Count
	}
	if b[i].Count == prevCount {
		return b[i].UpperMs
	}
	return lower + (b[i].UpperMs-lower)*(rank-prevCount)/(b[i].Count-prevCount)
}

// SplitPercents returns each route's share of requests, in the order given.
func SplitPercents(routes []RouteStats) []float64 {
	var total float64
	for _, r := range routes {
		total += r.Requests
	}
	out := make([]float64, len(routes))
	for i, r := range routes {
		out[i] = math.NaN()
		if total > 0 {
			out[i] = r.Requests / total * 100
		}
	}
	return out
}

// DBSplitPercents returns each route's share of database rows; NaN where not read.
func DBSplitPercents(routes []RouteStats) []float64 {
	var total float64
	for _, r := range routes {
		if r.DB != nil {
			total += float64(r.DB.Rows)
		}
	}
	out := make([]float64, len(routes))
	for i, r := range routes {
		out[i] = math.NaN()
		if r.DB != nil && total > 0 {
			out[i] = float64(r.DB.Rows) / total * 100
		}
	}
	return out
}

// subtractBuckets returns cur - prev per bound (counter deltas between two scrapes).
func subtractBuckets(cur, prev []Bucket) []Bucket {
	before := map[float64]float64{}
	for _, b := range prev {
		before[b.UpperMs] = b.Count
	}
	out := make([]Bucket, len(cur))
	for i, b := range cur {
		out[i] = Bucket{UpperMs: b.UpperMs, Count: b.Count - before[b.UpperMs]}
	}
	return out
}
