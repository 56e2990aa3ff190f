package routecompare

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// Namespace of the mesh manifests: the apex Service and both backends live here.
const Namespace = "so1-fase2"

// LinkerdVersion is the Linkerd release whose proxy metrics cluster mode reads: the one
// mesh/deploy-lib.sh pins (2.19, its edge release edge-25.10.7). The metric names and
// labels below are those of the 2.18 proxy-metrics reference and of linkerd2-proxy's
// source, which 2.19 keeps.
const LinkerdVersion = "2.19 (edge-25.10.7)"

// The outbound metrics per route backend that the Linkerd 2.18/2.19 proxy exports
// (linkerd2-proxy: linkerd/app/outbound/src/http/logical/policy/route/metrics.rs and
// backend/metrics.rs, linkerd/http/prom/src/count_reqs.rs and record_response/response.rs;
// the first is also listed in Linkerd 2.18's proxy metrics reference). Every series has
// parent_{group,kind,namespace,name,port,section_name}, route_{group,kind,namespace,name}
// and backend_{group,kind,namespace,name,port,section_name}; the statuses add http_status
// and error. linkerd-viz's Prometheus adds namespace, pod and deployment (from the pod's
// linkerd.io/proxy-deployment label) of the scraped pod.
const (
	backendRequestsMetric  = "outbound_http_route_backend_requests_total"
	backendStatusesMetric  = "outbound_http_route_backend_response_statuses_total"
	backendDurationBuckets = "outbound_http_route_backend_response_duration_seconds_bucket"
)

// lookback is Prometheus' default lookback delta: the latest sample at most this old
// before the window's start is the counters' value at the start.
const lookback = 5 * time.Minute

// ClusterRoute maps a route name to the apex's backend Service that serves it.
type ClusterRoute struct {
	Name    string // "python" or "node", as in metric_records.route
	Backend string // "route1-python" or "route2-node", the HTTPRoute's backendRefs
}

// ParseClusterRoutes parses the -backends flag: "python=route1-python,node=route2-node".
func ParseClusterRoutes(spec string) ([]ClusterRoute, error) {
	return parseNamed(spec, "-backends", "route=backend Service", func(name, backend string) (ClusterRoute, bool) {
		return ClusterRoute{Name: name, Backend: backend}, true
	})
}

// Workload names a Deployment.
type Workload struct{ Namespace, Deployment string }

func (w Workload) String() string { return w.Namespace + "/" + w.Deployment }

// ParseWorkload parses "namespace/deployment".
func ParseWorkload(s string) (Workload, error) {
	ns, dep, ok := strings.Cut(s, "/")
	if !ok || ns == "" || dep == "" || strings.Contains(dep, "/") {
		return Workload{}, fmt.Errorf("-ingress %q: want namespace/deployment", s)
	}
	return Workload{Namespace: ns, Deployment: dep}, nil
}

// ClusterQuery says whose traffic to count and when.
type ClusterQuery struct {
	Ingress    Workload // the meshed ingress: its proxies apply the split
	Apex       string   // the split's parent Service, in Namespace: "ingest"
	Routes     []ClusterRoute
	Start, End time.Time
}

// QueryCluster reads linkerd-viz's Prometheus: the outbound metrics per backend of the
// ingress's proxies for the apex, that is exactly the requests the split sent to each
// route. The routes' inbound metrics are not read: they also count the kubelet's probes
// and every other caller.
//
// Each counter's change from Start to End is computed from its raw samples: the value at
// Start (the latest sample at most 5m older) subtracted from the samples after it, counting
// through resets as increase() does but without increase()'s extrapolation to the edges
// of the range, so the counts are the counters' own. Success follows linkerd viz
// stat-outbound: a response without error whose http_status is not 5xx.
func QueryCluster(ctx context.Context, api promv1.API, q ClusterQuery) ([]RouteStats, error) {
	if !q.End.After(q.Start) {
		return nil, fmt.Errorf("cluster window: end %s is not after start %s", q.End.Format(time.RFC3339), q.Start.Format(time.RFC3339))
	}
	backends := make([]string, len(q.Routes))
	routeOf := map[string]int{}
	for i, r := range q.Routes {
		backends[i] = regexp.QuoteMeta(r.Backend)
		routeOf[r.Backend] = i
	}
	sel := fmt.Sprintf(`namespace=%q,deployment=%q,parent_namespace=%q,parent_name=%q,backend_namespace=%q,backend_name=~%q`,
		q.Ingress.Namespace, q.Ingress.Deployment, Namespace, q.Apex, Namespace, strings.Join(backends, "|"))
	out := make([]RouteStats, len(q.Routes))
	for i, r := range q.Routes {
		out[i] = RouteStats{Route: r.Name}
	}

	requests, err := increases(ctx, api, backendRequestsMetric, sel, q.Start, q.End)
	if err != nil {
		return nil, err
	}
	if len(requests) == 0 {
		return nil, fmt.Errorf("prometheus: no %s{%s} between %s and %s: is %s meshed, does the Ingress carry "+
			"nginx.ingress.kubernetes.io/service-upstream: \"true\", and is Linkerd %s or newer?",
			backendRequestsMetric, sel, q.Start.Format(time.RFC3339), q.End.Format(time.RFC3339), q.Ingress, LinkerdVersion)
	}
	for _, s := range requests {
		out[routeOf[s.labels["backend_name"]]].Requests += s.value
	}

	statuses, err := increases(ctx, api, backendStatusesMetric, sel, q.Start, q.End)
	if err != nil {
		return nil, err
	}
	for _, s := range statuses {
		r := &out[routeOf[s.labels["backend_name"]]]
		r.Responses += s.value
		if s.labels["error"] == "" && !strings.HasPrefix(s.labels["http_status"], "5") {
			r.Success += s.value
		}
	}

	buckets, err := increases(ctx, api, backendDurationBuckets, sel, q.Start, q.End)
	if err != nil {
		return nil, err
	}
	byBound := make([]map[float64]float64, len(q.Routes))
	for _, s := range buckets {
		i := routeOf[s.labels["backend_name"]]
		le, err := strconv.ParseFloat(s.labels["le"], 64)
		if err != nil {
			return nil, fmt.Errorf("prometheus: %s of %s: le %q: %w", backendDurationBuckets, s.labels["backend_name"], s.labels["le"], err)
		}
		if byBound[i] == nil {
			byBound[i] = map[float64]float64{}
		}
		byBound[i][le*1000] += s.value // seconds to ms; +Inf stays +Inf
	}
	for i, m := range byBound {
		for bound, count := range m {
			out[i].Buckets = append(out[i].Buckets, Bucket{UpperMs: bound, Count: count})
		}
		sort.Slice(out[i].Buckets, func(a, b int) bool { return out[i].Buckets[a].UpperMs < out[i].Buckets[b].UpperMs })
	}
	return out, nil
}

type sample struct {
	labels map[string]string
	value  float64
}

// increases returns, per series of metric{sel}, how much the counter grew from start to
// end. One range query at end reads the raw samples from lookback before start: the last
// of them at or before start is the starting value (none: the series began after start,
// from zero); each later sample adds its difference to the one before, or, when lower (a
// restarted proxy), its whole value.
func increases(ctx context.Context, api promv1.API, metric, sel string, start, end time.Time) ([]sample, error) {
	rangeMs := (end.Sub(start) + lookback).Milliseconds()
	query := fmt.Sprintf("%s{%s}[%dms]", metric, sel, rangeMs)
	value, _, _, err := api.Query(ctx, query, end)
	if err != nil {
		return nil, fmt.Errorf("prometheus: query %s: %w", query, err)
	}
	matrix, ok := value.(model.Matrix)
	if !ok {
		return nil, fmt.Errorf("prometheus: query %s: result type %s, want matrix", query, value.Type())
	}
	startMs := model.TimeFromUnixNano(start.UnixNano())
	out := make([]sample, 0, len(matrix))
	for _, series := range matrix {
		prev, grown := 0.0, 0.0
		for _, p := range series.Values {
			v := float64(p.Value)
			if math.IsNaN(v) {
				continue
			}
			if p.Timestamp <= startMs {
				prev = v // the value at start: nothing counted yet
				continue
			}
			if v >= prev {
				grown += v - prev
			} else {
				grown += v // reset: counting restarted from zero
			}
			prev = v
		}
		labels := make(map[string]string, len(series.Metric))
		for k, v := range series.Metric {
			labels[string(k)] = string(v)
		}
		out = append(out, sample{labels: labels, value: grown})
	}
	return out, nil
}
