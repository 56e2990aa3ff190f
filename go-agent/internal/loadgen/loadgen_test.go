package loadgen

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"testing"
	"time"
)

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestRunStopsAfterRequestsAndCountsStatuses(t *testing.T) {
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		i := n
		mu.Unlock()
		if i%4 == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok"))
	}))
	defer srv.Close()

	res, err := Run(context.Background(), Config{URL: srv.URL, Method: "GET", Users: 5, Requests: 40, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 40 || n != 40 {
		t.Fatalf("requests = %d, server saw %d, want 40", res.Requests, n)
	}
	if res.Status["200"] != 30 || res.Status["503"] != 10 || res.Errors != 10 {
		t.Fatalf("status %v errors %d, want 30x200 10x503 10 errors", res.Status, res.Errors)
	}
	if !(res.P50Ms <= res.P95Ms && res.P95Ms <= res.P99Ms && res.P99Ms <= res.MaxMs) || res.MaxMs <= 0 {
		t.Fatalf("percentiles not ordered: %+v", res)
	}
}

func TestRunPostsRecordsRoundRobinWithFreshIDs(t *testing.T) {
	var mu sync.Mutex
	var bodies []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("content-type %q", r.Header.Get("Content-Type"))
		}
		if got := r.Header.Get("Authorization"); got != "Bearer t0ken" {
			t.Errorf("authorization %q, want the configured one", got)
		}
		raw, _ := io.ReadAll(r.Body)
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Errorf("body %q: %v", raw, err)
		}
		mu.Lock()
		bodies = append(bodies, m)
		mu.Unlock()
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()

	recs, err := ParseRecords([]byte(`[{"id":"old","n":1},{"n":2},{}]`))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), Config{URL: srv.URL, Method: "POST", Bodies: recs, Users: 1, Requests: 6,
		Timeout: 5 * time.Second, Authorization: "Bearer t0ken"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors != 0 || res.Status["201"] != 6 {
		t.Fatalf("result %+v", res)
	}
	ids := map[string]bool{}
	for i, b := range bodies {
		id, _ := b["id"].(string)
		if !uuidV4.MatchString(id) || ids[id] {
			t.Fatalf("body %d id %q not a fresh UUID v4", i, id)
		}
		ids[id] = true
		want := []any{1.0, 2.0, nil}[i%3]
		if b["n"] != want {
			t.Fatalf("body %d = %v, want n=%v (round robin)", i, b, want)
		}
	}
}

func TestRunDurationWithThinkTimeAndTransportErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	url := srv.URL
	srv.Close() // nothing listens: every request is a transport error

	start := time.Now()
	res, err := Run(context.Background(), Config{URL: url, Method: "GET", Users: 3, SpawnRate: 100,
		ThinkMin: 10 * time.Millisecond, ThinkMax: 20 * time.Millisecond, Duration: 300 * time.Millisecond, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("run did not stop near its duration")
	}
	if res.Requests == 0 || res.Errors != res.Requests || len(res.Status) != 0 || len(res.ErrorSamples) == 0 {
		t.Fatalf("want only transport errors, got %+v", res)
	}
}

func TestConfigAndRecordErrors(t *testing.T) {
	bad := []Config{
		{Method: "GET", Users: 1, Requests: 1, Timeout: time.Second},
		{URL: "http://x", Method: "PUT", Users: 1, Requests: 1, Timeout: time.Second},
		{URL: "http://x", Method: "POST", Users: 1, Requests: 1, Timeout: time.Second},
		{URL: "http://x", Method: "GET", Users: 0, Requests: 1, Timeout: time.Second},
		{URL: "http://x", Method: "GET", Users: 1, Timeout: time.Second},
		{URL: "http://x", Method: "GET", Users: 1, Requests: 1, ThinkMin: 2, ThinkMax: 1, Timeout: time.Second},
	}
	for i, c := range bad {
		if c.Validate() == nil {
			t.Errorf("config %d accepted: %+v", i, c)
		}
	}
	for _, in := range []string{``, `{}`, `[]`, `[1]`, `[null]`, `[{"a":1}`} {
		if _, err := ParseRecords([]byte(in)); err == nil {
			t.Errorf("records %q accepted", in)
		}
	}
}

func TestPercentileNearestRank(t *testing.T) {
	var s []time.Duration
	for i := 1; i <= 100; i++ {
		s = append(s, time.Duration(i)*time.Millisecond)
	}
	if Percentile(s, 50) != 50 || Percentile(s, 99) != 99 || Percentile(s, 100) != 100 || Percentile(nil, 50) != 0 {
		t.Fatal("nearest-rank percentile wrong")
	}
}
