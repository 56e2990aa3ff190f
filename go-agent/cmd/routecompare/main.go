// Command routecompare prints the comparison of the two ingestion routes (see go-agent/README.md).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"time"

	"so1fase2/go-agent/internal/routecompare"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "routecompare:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("routecompare", flag.ContinueOnError)
	mode := fs.String("mode", "local", "local (the routes' /metrics) or cluster (linkerd-viz Prometheus)")
	local := fs.String("routes", "python=http://127.0.0.1:8001/metrics,node=http://127.0.0.1:8002/metrics",
		"local mode: name=metrics URL, comma separated; names as in metric_records.route")
	promURL := fs.String("prometheus", "http://127.0.0.1:9090", "cluster mode: linkerd-viz Prometheus base URL")
	deployments := fs.String("deployments", "python=route1-python,node=route2-node", "cluster mode: route=deployment, comma separated")
	window := fs.Duration("window", 0, "local: scrape twice this far apart and report the deltas (0: totals since the routes started); cluster: the range of increase() (0: 5m)")
	useDB := fs.Bool("db", os.Getenv("DB_HOST") != "", "count rows per route in metric_records (DB_HOST, DB_PORT, DB_USER, DB_PASSWORD, DB_NAME)")
	since := fs.String("since", "", "database: count rows received at or after this time (RFC 3339) or this long ago (e.g. 10m); empty: all rows")
	svg := fs.String("svg", "", "also write an SVG chart to this file")
	title := fs.String("title", "", "chart title")
	if err := fs.Parse(args); err != nil {
		return err
	}
	sinceTime, err := parseSince(*since, time.Now())
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
		cr, err := routecompare.ParseClusterRoutes(*deployments)
		if err != nil {
			return err
		}
		w := *window
		if w <= 0 {
			w = 5 * time.Minute
		}
		if routes, err = routecompare.QueryCluster(ctx, client, *promURL, cr, w); err != nil {
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

	if err := routecompare.WriteTable(os.Stdout, routes); err != nil {
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
