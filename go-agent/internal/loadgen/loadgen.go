// Package loadgen drives an HTTP endpoint with closed-loop virtual users and
// reports exact latency percentiles over every request it sent.
package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// Config describes one run. Either Duration or Requests (or both) bounds it.
type Config struct {
	URL       string
	Method    string
	Bodies    *RecordBodies // nil for GET
	Users     int
	SpawnRate float64 // users started per second; 0 starts all at once
	ThinkMin  time.Duration
	ThinkMax  time.Duration
	Duration  time.Duration
	Requests  int64
	Timeout   time.Duration
	// Authorization, when set, is sent on every POST (the routes' "Bearer <INGEST_TOKEN>").
	Authorization string
}

// Result is the wire format of -json; field names are part of the CLI contract.
type Result struct {
	Requests  int64            `json:"requests"`
	Errors    int64            `json:"errors"`
	Status    map[string]int64 `json:"status"`
	DurationS float64          `json:"duration_s"`
	RPS       float64          `json:"rps"`
	P50Ms     float64          `json:"p50_ms"`
	P95Ms     float64          `json:"p95_ms"`
	P99Ms     float64          `json:"p99_ms"`
	MaxMs     float64          `json:"max_ms"`
	// ErrorSamples keeps a few distinct error messages for diagnosis (not in -json).
	ErrorSamples []string `json:"-"`
}

// Validate checks a Config before a run.
func (c *Config) Validate() error {
	switch {
	case c.URL == "":
		return errors.New("-url is required")
	case c.Method != http.MethodGet && c.Method != http.MethodPost:
		return fmt.Errorf("-method must be GET or POST, got %q", c.Method)
	case c.Method == http.MethodPost && c.Bodies == nil:
		return errors.New("-method POST needs -records FILE")
	case c.Users < 1:
		return errors.New("-users must be >= 1")
	case c.SpawnRate < 0:
		return errors.New("-spawn-rate must be >= 0")
	case c.ThinkMin < 0 || c.ThinkMax < c.ThinkMin:
		return errors.New("need 0 <= -think-min <= -think-max")
	case c.Duration <= 0 && c.Requests <= 0:
		return errors.New("one of -duration or -requests is required")
	case c.Duration < 0 || c.Requests < 0:
		return errors.New("-duration and -requests must be positive")
	case c.Timeout <= 0:
		return errors.New("-timeout must be > 0")
	}
	return nil
}

// RecordBodies hands out POST bodies round-robin, each with a fresh UUID v4 "id".
type RecordBodies struct {
	// withoutID holds each record encoded without its "id" and without the opening brace,
	// so a body is `{"id":"<uuid>"` + separator + rest: no re-encoding per request.
	withoutID [][]byte
	next      atomic.Uint64
}

// LoadRecords reads a JSON array of objects from path.
func LoadRecords(path string) (*RecordBodies, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	return ParseRecords(data)
}

// ParseRecords parses a JSON array of objects.
func ParseRecords(data []byte) (*RecordBodies, error) {
	var records []map[string]json.RawMessage
	if err := json.Unmarshal(data, &records); err != nil {
		return nil, fmt.Errorf("records: want a JSON array of objects: %w", err)
	}
	if len(records) == 0 {
		return nil, errors.New("records: the array is empty")
	}
	b := &RecordBodies{}
	for i, r := range records {
		if r == nil {
			return nil, fmt.Errorf("records: element %d is not an object", i)
		}
		delete(r, "id")
		enc, err := json.Marshal(r)
		if err != nil {
			return nil, fmt.Errorf("records: element %d: %w", i, err)
		}
		rest := enc[1:] // drop '{'
		if len(rest) > 1 {
			rest = append([]byte{','}, rest...)
		}
		b.withoutID = append(b.withoutID, rest)
	}
	return b, nil
}

// Next returns the next body with a new random id.
func (b *RecordBodies) Next() []byte {
	rest := b.withoutID[(b.next.Add(1)-1)%uint64(len(b.withoutID))]
	id := uuid.New().String()
	body := make([]byte, 0, len(`{"id":""`)+len(id)+len(rest))
	body = append(body, `{"id":"`...)
	body = append(body, id...)
	body = append(body, '"')
	return append(body, rest...)
}

type userStats struct {
	latencies []time.Duration
	status    map[int]int64
	errors    int64
	errSample []string
}

// NewClient returns a client whose pool holds one idle connection per user,
// so keep-alive connections are reused and the tool is not the bottleneck.
func NewClient(users int, timeout time.Duration) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = users * 2
	tr.MaxIdleConnsPerHost = users * 2
	tr.DisableCompression = true
	return &http.Client{Transport: tr, Timeout: timeout}
}

// Run executes the load and returns the aggregated result. Cancelling ctx stops it early.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	client := NewClient(cfg.Users, cfg.Timeout)
	defer client.CloseIdleConnections()

	runCtx := ctx
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}
	var issued atomic.Int64
	stats := make([]*userStats, cfg.Users)
	var wg sync.WaitGroup
	start := time.Now()

spawn:
	for i := 0; i < cfg.Users; i++ {
		if i > 0 && cfg.SpawnRate > 0 {
			wait := time.Until(start.Add(time.Duration(float64(i) / cfg.SpawnRate * float64(time.Second))))
			select {
			case <-runCtx.Done():
				break spawn
			case <-time.After(wait):
			}
		}
		if cfg.Requests > 0 && issued.Load() >= cfg.Requests {
			break
		}
		st := &userStats{status: map[int]int64{}}
		stats[i] = st
		wg.Add(1)
		go func() {
			defer wg.Done()
			runUser(runCtx, cfg, client, &issued, st)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	return aggregate(stats, elapsed), nil
}

func runUser(ctx context.Context, cfg Config, client *http.Client, issued *atomic.Int64, st *userStats) {
	for {
		if ctx.Err() != nil {
			return
		}
		if cfg.Requests > 0 && issued.Add(1) > cfg.Requests {
			return
		}
		// In-flight requests are not cancelled at the deadline: they finish (or time out)
		// and count, so the end of a run never turns into a burst of fake errors.
		latency, code, err := doRequest(cfg, client)
		st.latencies = append(st.latencies, latency)
		if err != nil {
			st.errors++
			if len(st.errSample) < 3 {
				st.errSample = append(st.errSample, err.Error())
			}
		} else {
			st.status[code]++
			if code < 200 || code > 299 {
				st.errors++
			}
		}
		if cfg.ThinkMax > 0 {
			think := cfg.ThinkMin
			if cfg.ThinkMax > cfg.ThinkMin {
				think += rand.N(cfg.ThinkMax - cfg.ThinkMin)
			}
			t := time.NewTimer(think)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
	}
}

func doRequest(cfg Config, client *http.Client) (time.Duration, int, error) {
	var body io.Reader
	if cfg.Bodies != nil && cfg.Method == http.MethodPost {
		body = bytes.NewReader(cfg.Bodies.Next())
	}
	req, err := http.NewRequest(cfg.Method, cfg.URL, body)
	if err != nil {
		return 0, 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
		if cfg.Authorization != "" {
			req.Header.Set("Authorization", cfg.Authorization)
		}
	}
	t0 := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return time.Since(t0), 0, err
	}
	// Read the whole body: the latency includes it, and the connection can be reused.
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return time.Since(t0), resp.StatusCode, err
}

func aggregate(stats []*userStats, elapsed time.Duration) Result {
	res := Result{Status: map[string]int64{}, DurationS: elapsed.Seconds()}
	var all []time.Duration
	seen := map[string]bool{}
	for _, st := range stats {
		if st == nil {
			continue
		}
		all = append(all, st.latencies...)
		res.Errors += st.errors
		for code, n := range st.status {
			res.Status[strconv.Itoa(code)] += n
		}
		for _, e := range st.errSample {
			if !seen[e] && len(res.ErrorSamples) < 5 {
				seen[e] = true
				res.ErrorSamples = append(res.ErrorSamples, e)
			}
		}
	}
	res.Requests = int64(len(all))
	if elapsed > 0 {
		res.RPS = round(float64(res.Requests)/elapsed.Seconds(), 2)
	}
	res.DurationS = round(res.DurationS, 3)
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	res.P50Ms = Percentile(all, 50)
	res.P95Ms = Percentile(all, 95)
	res.P99Ms = Percentile(all, 99)
	if len(all) > 0 {
		res.MaxMs = ms(all[len(all)-1])
	}
	return res
}

// Percentile returns the nearest-rank p-th percentile of sorted samples, in ms:
// the smallest sample with at least p% of all samples at or below it.
func Percentile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	if rank < 1 {
		rank = 1
	}
	return ms(sorted[rank-1])
}

func ms(d time.Duration) float64 { return round(float64(d)/float64(time.Millisecond), 3) }

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}
