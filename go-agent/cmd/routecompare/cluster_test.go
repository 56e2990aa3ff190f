package main

// Cluster mode against a real Prometheus (Debian's prometheus package) scraping the
// fixture exporter of linkerd_fixture_test.go, as linkerd-viz's Prometheus scrapes the
// proxies: routecompare must report exactly the traffic the ingress's proxies split,
// whatever the probes and a second client of the apex add to the routes' own counters.

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"so1fase2/go-agent/internal/routecompare"
)

// prometheusEnv names the Prometheus binary. make test sets it after installing Debian's
// prometheus, and then the test must run; otherwise prometheus on PATH, or a skip.
const prometheusEnv = "ROUTECOMPARE_PROMETHEUS"

func prometheusBinary(t *testing.T) string {
	if bin := os.Getenv(prometheusEnv); bin != "" {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s=%s: %v", prometheusEnv, bin, err)
		}
		return bin
	}
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skipf("no prometheus binary (install Debian's prometheus, as make test does, or set %s)", prometheusEnv)
	}
	return bin
}

// listenInRange listens on the first free port of 127.0.0.1:from..18799.
func listenInRange(t *testing.T, from int) net.Listener {
	for port := from; port <= 18799; port++ {
		if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			return l
		}
	}
	t.Fatalf("no free port in 127.0.0.1:%d-18799", from)
	return nil
}

type prometheus struct {
	url     string
	api     promv1.API
	logFile string
}

// startPrometheus runs bin on a private port, config and data directory, scraping every
// fixture pod each second as linkerd-viz's job linkerd-proxy would (with the namespace,
// pod and deployment labels its relabelling adds), and the expected histograms.
func startPrometheus(t *testing.T, bin, fixtureAddr string, pods []fixturePod) *prometheus {
	dir := t.TempDir()
	var cfg strings.Builder
	cfg.WriteString("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1m\nscrape_configs:\n")
	cfg.WriteString("- job_name: linkerd-proxy\n  static_configs:\n")
	for _, p := range pods {
		fmt.Fprintf(&cfg, "  - targets: [%q]\n    labels:\n      __metrics_path__: /pods/%s/metrics\n"+
			"      namespace: %s\n      pod: %s\n      deployment: %s\n      pod_template_hash: %q\n      control_plane_ns: linkerd\n",
			fixtureAddr, p.name, p.namespace, p.name, p.deployment, podTemplateHash(p.name))
	}
	fmt.Fprintf(&cfg, "- job_name: fixture-expected\n  metrics_path: /expected/metrics\n  static_configs:\n  - targets: [%q]\n", fixtureAddr)
	config := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(config, []byte(cfg.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	l := listenInRange(t, 18790)
	addr := l.Addr().String()
	l.Close() // Prometheus binds it next

	logFile := filepath.Join(dir, "prometheus.log")
	logOut, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config.file="+config, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--storage.tsdb.retention.time=1h", "--log.level=warn")
	cmd.Stdout, cmd.Stderr = logOut, logOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		logOut.Close()
	})
	client, err := promapi.NewClient(promapi.Config{Address: "http://" + addr})
	if err != nil {
		t.Fatal(err)
	}
	p := &prometheus{url: "http://" + addr, api: promv1.NewAPI(client), logFile: logFile}
	p.waitFor(t, "Prometheus to answer 200 on /-/ready at "+addr, func() (bool, string) {
		resp, err := http.Get(p.url + "/-/ready")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
	return p
}

// waitFor polls check every 100 ms for at most a minute (the machine is shared and
// loaded), saying what it waits for; on timeout it fails with the last state seen and
// the tail of Prometheus' log.
func (p *prometheus) waitFor(t *testing.T, what string, check func() (bool, string)) {
	t.Helper()
	const limit = time.Minute
	began := time.Now()
	t.Logf("waiting (at most %s) for %s", limit, what)
	for {
		ok, state := check()
		if ok {
			t.Logf("  after %s: %s", time.Since(began).Round(time.Millisecond), state)
			return
		}
		if time.Since(began) > limit {
			log, _ := os.ReadFile(p.logFile)
			if len(log) > 4000 {
				log = log[len(log)-4000:]
			}
			t.Fatalf("gave up after %s waiting for %s; last: %s\nprometheus log:\n%s", limit, what, state, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// scalar runs an instant query that yields one sample.
func (p *prometheus) scalar(query string) (float64, error) {
	v, _, _, err := p.api.Query(context.Background(), query, time.Now())
	if err != nil {
		return math.NaN(), err
	}
	vec, ok := v.(model.Vector)
	if !ok || len(vec) != 1 {
		return math.NaN(), fmt.Errorf("%s: want one sample, got %v", query, v)
	}
	return float64(vec[0].Value), nil
}

// scrapedAfter waits until the latest scrape of every target began after t and
// succeeded: its samples are stored, and, since Prometheus scrapes a target one scrape at
// a time, every sample stamped t or earlier comes from a scrape that had finished reading
// the fixture by then.
func (p *prometheus) scrapedAfter(tb *testing.T, t time.Time, targets int, why string) {
	tb.Helper()
	p.waitFor(tb, fmt.Sprintf("a successful scrape of each of the %d targets begun after %s (%s)", targets, t.Format("15:04:05.000"), why), func() (bool, string) {
		v, _, _, err := p.api.Query(context.Background(), fmt.Sprintf(`(timestamp(up) > %.3f) and (up == 1)`, float64(t.UnixMilli())/1000), time.Now())
		if err != nil {
			return false, err.Error()
		}
		vec, _ := v.(model.Vector)
		return len(vec) == targets, fmt.Sprintf("%d of %d", len(vec), targets)
	})
}

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

var meshRoutes = []routecompare.ClusterRoute{{Name: "python", Backend: "route1-python"}, {Name: "node", Backend: "route2-node"}}

func TestClusterModeAgainstPrometheus(t *testing.T) {
	bin := prometheusBinary(t)
	fx := &fixture{pods: fixturePods()}
	l := listenInRange(t, 18780)
	srv := &http.Server{Handler: fx, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	prom := startPrometheus(t, bin, l.Addr().String(), fx.pods)

	targets := len(fx.pods) + 1
	prom.waitFor(t, fmt.Sprintf("all %d fixture targets scraped and up", targets), func() (bool, string) {
		up, err := prom.scalar(`sum(up)`)
		if err != nil {
			return false, err.Error()
		}
		return up == float64(targets), fmt.Sprintf("%v up", up)
	})
	start := time.Now()
	prom.scrapedAfter(t, start, targets, `so every sample up to the window's start is of the "before" phase`)
	fx.phase.Store(after)
	switched := time.Now()
	prom.scrapedAfter(t, switched, targets, `every target's "after" phase stored`)
	end := time.Now()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	q := routecompare.ClusterQuery{Ingress: routecompare.Workload{Namespace: "ingress-nginx", Deployment: "ingress-nginx-controller"},
		Apex: "ingest", Routes: meshRoutes, Start: start, End: end}
	stats, err := routecompare.QueryCluster(ctx, prom.api, q)
	if err != nil {
		t.Fatal(err)
	}

	// The counts: both ingress pods, the second one's proxy restarted inside the window.
	for i, r := range meshRoutes {
		s := stats[i]
		if s.Route != r.Name {
			t.Fatalf("route %d is %q, want %q", i, s.Route, r.Name)
		}
		near(t, r.Name+" requests", s.Requests, windowRequests[r.Backend])
		near(t, r.Name+" responses", s.Responses, windowRequests[r.Backend])
		near(t, r.Name+" success", s.Success, windowSuccess[r.Backend])
		cum, bounds := 0.0, append(append([]float64(nil), proxyBoundsSeconds...), math.Inf(1))
		if len(s.Buckets) != len(bounds) {
			t.Fatalf("%s buckets %v, want %d", r.Name, s.Buckets, len(bounds))
		}
		for j, c := range windowBuckets[r.Backend] {
			cum += float64(c)
			near(t, fmt.Sprintf("%s bucket le=%s count", r.Name, proxyBounds[j]), s.Buckets[j].Count, cum)
			if !math.IsInf(bounds[j], 1) {
				near(t, fmt.Sprintf("%s bucket %d bound (ms)", r.Name, j), s.Buckets[j].UpperMs, bounds[j]*1000)
			}
		}
	}
	split := routecompare.SplitPercents(stats)
	near(t, "python split %", split[0], 60)
	near(t, "node split %", split[1], 40)

	// The percentiles, worked out by hand from the window's cumulative buckets
	// (python 30 80 100 114 118 119 120 120, node 10 20 60 76 79 80 80 80; bounds
	// 25 50 100 250 500 1000 10000 ms), interpolating as histogram_quantile does, and
	// asked of Prometheus' own histogram_quantile over the same buckets.
	hand := map[string][3]float64{
		"route1-python": {25 + 25*(60.0-30)/50, 100 + 150*(114.0-100)/14, 500 + 500*(118.8-118)/1},
		"route2-node":   {50 + 50*(40.0-20)/40, 100 + 150*(76.0-60)/16, 500 + 500*(79.2-79)/1},
	}
	for i, r := range meshRoutes {
		for j, quant := range []float64{0.5, 0.95, 0.99} {
			got := stats[i].Quantile(quant)
			near(t, fmt.Sprintf("%s p%g (by hand)", r.Name, quant*100), got, hand[r.Backend][j])
			promQ, err := prom.scalar(fmt.Sprintf(`histogram_quantile(%g, last_over_time(fixture_window_seconds_bucket{backend=%q}[1m]))`, quant, r.Backend))
			if err != nil {
				t.Fatal(err)
			}
			near(t, fmt.Sprintf("%s p%g (Prometheus' histogram_quantile)", r.Name, quant*100), got, promQ*1000)
		}
	}

	// routecompare's own output, run as the manual shows, from the same start.
	var out bytes.Buffer
	args := []string{"-mode", "cluster", "-prometheus", prom.url, "-since", start.Format(time.RFC3339Nano), "-db=false"}
	if err := run(args, &out); err != nil {
		t.Fatal(err)
	}
	t.Logf("routecompare %s\n%s", strings.Join(args, " "), out.String())
	rows := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n")[1:] {
		f := strings.Fields(line)
		rows[f[0]] = f
	}
	//                     route     requests success% p50     p95       p99       rec/s split% db rows db split%
	wantRows := map[string][]string{
		"python": {"python", "120", "96.67", "40.00", "250.00", "900.00", "-", "60.0", "-", "-"},
		"node":   {"node", "80", "97.50", "75.00", "250.00", "600.00", "-", "40.0", "-", "-"},
	}
	for name, want := range wantRows {
		if strings.Join(rows[name], " ") != strings.Join(want, " ") {
			t.Errorf("row %s = %q, want %q", name, rows[name], want)
		}
	}

	// What the fixture mixes in, and routecompare leaves out: the routes' inbound counters
	// (probes and replay-client included), and replay-client's own outbound traffic.
	inbound, err := prom.scalar(fmt.Sprintf(`sum(last_over_time(response_total{direction="inbound",deployment="route1-python"}[1m] @ %.3f))`+
		` - sum(last_over_time(response_total{direction="inbound",deployment="route1-python"}[1m] @ %.3f))`, float64(end.UnixMilli())/1000, float64(start.UnixMilli())/1000))
	if err != nil {
		t.Fatal(err)
	}
	if inbound == windowRequests["route1-python"] {
		t.Errorf("the fixture's route1-python inbound counters grew by %v, as much as the split sent: no probes mixed in", inbound)
	}
	t.Logf("route1-python's inbound counters grew by %v (probes, replay-client and the ingress); the split sent it %v", inbound, windowRequests["route1-python"])
	q.Ingress = routecompare.Workload{Namespace: "so1-fase2", Deployment: "replay-client"}
	other, err := routecompare.QueryCluster(ctx, prom.api, q)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "replay-client's requests to route1-python", other[0].Requests, 500)
	near(t, "replay-client's requests to route2-node", other[1].Requests, 20)

	// No outbound series for the apex from that workload: an error that says what to check.
	q.Ingress = routecompare.Workload{Namespace: "ingress-nginx", Deployment: "not-meshed"}
	if _, err := routecompare.QueryCluster(ctx, prom.api, q); err == nil || !strings.Contains(err.Error(), "service-upstream") {
		t.Errorf("an ingress without outbound metrics: want an error naming service-upstream, got %v", err)
	}
	// A window that ends before it starts is refused.
	q.Ingress.Deployment, q.Start, q.End = "ingress-nginx-controller", end, start
	if _, err := routecompare.QueryCluster(ctx, prom.api, q); err == nil {
		t.Error("a window that ends before it starts accepted")
	}
}

func TestClusterModeUnreachablePrometheus(t *testing.T) {
	l := listenInRange(t, 18770)
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	err := run([]string{"-mode", "cluster", "-prometheus", "http://" + addr, "-db=false"}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("want connection refused, got %v", err)
	}
}
