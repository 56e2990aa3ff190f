// Command loadgen sends bounded closed-loop HTTP load to one URL and prints
// throughput and exact latency percentiles (see go-agent/README.md).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"so1fase2/go-agent/internal/loadgen"
)

func main() {
	var cfg loadgen.Config
	var records string
	var asJSON bool
	flag.StringVar(&cfg.URL, "url", "", "target URL (required)")
	flag.StringVar(&cfg.Method, "method", "GET", "GET or POST")
	flag.StringVar(&records, "records", "", "with POST: JSON array of objects, sent round-robin, each with a fresh UUID v4 \"id\"")
	flag.IntVar(&cfg.Users, "users", 1, "concurrent virtual users (closed loop)")
	flag.Float64Var(&cfg.SpawnRate, "spawn-rate", 0, "users started per second (0 = all at once)")
	flag.DurationVar(&cfg.ThinkMin, "think-min", 0, "minimum wait between one user's requests")
	flag.DurationVar(&cfg.ThinkMax, "think-max", 0, "maximum wait between one user's requests")
	flag.DurationVar(&cfg.Duration, "duration", 0, "stop after this long")
	flag.Int64Var(&cfg.Requests, "requests", 0, "stop after this many requests in total")
	flag.DurationVar(&cfg.Timeout, "timeout", 10*time.Second, "per-request timeout")
	flag.BoolVar(&asJSON, "json", false, "print the result as one JSON object")
	flag.Parse()

	cfg.Method = strings.ToUpper(cfg.Method)
	// From the environment, not a flag, so that the token never shows in `ps`.
	if token := os.Getenv("INGEST_TOKEN"); token != "" {
		cfg.Authorization = "Bearer " + token
	}
	if records != "" {
		bodies, err := loadgen.LoadRecords(records)
		if err != nil {
			fail(err)
		}
		cfg.Bodies = bodies
	}
	if err := cfg.Validate(); err != nil {
		fail(err)
	}
	// SIGINT/SIGTERM end the run early; the partial result is still printed.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := loadgen.Run(ctx, cfg)
	if err != nil {
		fail(err)
	}
	for _, e := range res.ErrorSamples {
		fmt.Fprintln(os.Stderr, "loadgen: error:", e)
	}
	if asJSON {
		if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
			fail(err)
		}
		return
	}
	codes := make([]string, 0, len(res.Status))
	for c := range res.Status {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	var status []string
	for _, c := range codes {
		status = append(status, fmt.Sprintf("%s:%d", c, res.Status[c]))
	}
	fmt.Printf("%-10s %d\n%-10s %d\n%-10s %s\n%-10s %.3f\n%-10s %.2f\n",
		"requests", res.Requests, "errors", res.Errors, "status", strings.Join(status, " "),
		"duration_s", res.DurationS, "rps", res.RPS)
	fmt.Printf("%-10s p50 %.3f  p95 %.3f  p99 %.3f  max %.3f\n", "latency_ms", res.P50Ms, res.P95Ms, res.P99Ms, res.MaxMs)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "loadgen:", err)
	os.Exit(2)
}
