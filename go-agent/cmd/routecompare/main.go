// Command routecompare prints the comparison of the two ingestion routes (see go-agent/README.md).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"so1fase2/go-agent/internal/routecompare"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "routecompare:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("routecompare", flag.ContinueOnError)
	mode := fs.String("mode", "local", "local (the routes' /metrics) or cluster (linkerd-viz Prometheus: the ingress proxy's outbound metrics, Linkerd "+routecompare.LinkerdVersion+")")
	local := fs.String("routes", "python=http://127.0.0.1:8001/metrics,node=http://127.0.0.1:8002/metrics",
		"local mode: name=metrics URL, comma separated; names as in metric_records.route")
	promURL := fs.String("prometheus", "http://127.0.0.1:9090", "cluster mode: linkerd-viz Prometheus base URL")
	backends := fs.String("backends", "python=route1-python,node=route2-node", "cluster mode: route=backend Service of the apex, comma separated")
	fs.Var(stringAlias{backends}, "deployments", "old name of -backends")
	ingress := fs.String("ingress", "ingress-nginx/ingress-nginx-controller", "cluster mode: namespace/deployment of the meshed ingress, whose proxies split")
	apex := fs.String("apex", "ingest", "cluster mode: the apex Service (in "+routecompare.Namespace+") the split is attached to")
	window := fs.Duration("window", 0, "local: scrape twice this far apart and report the deltas (0: totals since the routes started); cluster: count the last window (0: 5m) unless -since is given")
	useDB := fs.Bool("db", os.Getenv("DB_HOST") != "", "count rows per route in metric_records (DB_HOST, DB_PORT, DB_USER, DB_PASSWORD, DB_NAME)")
	since := fs.String("since", "", "database: count rows received at or after this time (RFC 3339) or this long ago (e.g. 10m); empty: all rows; cluster: also the start of the counted traffic")
	svg := fs.String("svg", "", "also write an SVG chart to this file")
	title := fs.String("title", "", "chart title")
	if err := fs.Parse(args); err != nil {
		return err
	}
	now := time.Now()
	sinceTime, err := parseSince(*since, now)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	client := &http.Client{Timeout: 10 * time.Second}

	var routes []routecompare.RouteStats
	switch *mode {
	case "local":
		lr, err := routecompare.ParseLocalRoutes(*local)
		if err != nil {
			return err
		}
		if routes, err = routecompare.ScrapeLocal(ctx, client, lr, *window); err != nil {
			return err
		}
	case "cluster":
		cr, err := routecompare.ParseClusterRoutes(*backends)
		if err != nil {
			return err
		}
		ing, err := routecompare.ParseWorkload(*ingress)
		if err != nil {
			return err
		}
		pc, err := promapi.NewClient(promapi.Config{Address: *promURL, Client: client})
		if err != nil {
			return fmt.Errorf("-prometheus %q: %w", *promURL, err)
		}
		start, end := clusterWindow(sinceTime, *window, now)
		q := routecompare.ClusterQuery{Ingress: ing, Apex: *apex, Routes: cr, Start: start, End: end}
		if routes, err = routecompare.QueryCluster(ctx, promv1.NewAPI(pc), q); err != nil {
			return err
		}
	default:
		return fmt.Errorf("-mode %q: want local or cluster", *mode)
	}

	if *useDB {
		cfg, err := routecompare.DBConfigFromEnv(os.Getenv)
		if err != nil {
			return err
		}
		db, err := cfg.Open()
		if err != nil {
			return err
		}
		defer routecompare.CloseDB(db)
		counts, err := routecompare.CountByRoute(ctx, db, sinceTime)
		if err != nil {
			return err
		}
		routecompare.AttachDB(routes, counts)
	}

	if err := routecompare.WriteTable(stdout, routes); err != nil {
		return err
	}
	if *svg != "" {
		if *title == "" {
			*title = "Ingestion routes: latency and split (" + *mode + ")"
		}
		f, err := os.Create(*svg)
		if err != nil {
			return err
		}
		if err := errors.Join(routecompare.WriteSVG(f, *title, routes), f.Close()); err != nil {
			return err
		}
		fmt.Fprintln(os.Stderr, "routecompare: wrote", *svg)
	}
	return nil
}

// clusterWindow is the traffic cluster mode counts: from since (when set) or window
// (default 5m) before now, to now.
func clusterWindow(since time.Time, window time.Duration, now time.Time) (start, end time.Time) {
	if !since.IsZero() {
		return since, now
	}
	if window <= 0 {
		window = 5 * time.Minute
	}
	return now.Add(-window), now
}

// stringAlias is a flag that sets another flag's string.
type stringAlias struct{ p *string }

func (a stringAlias) String() string {
	if a.p == nil {
		return ""
	}
	return *a.p
}
func (a stringAlias) Set(v string) error { *a.p = v; return nil }

func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("-since %q: want RFC 3339 or a duration like 10m", s)
	}
	return t, nil
}
