package main

// A fixture exporter: what the Linkerd 2.19 (edge-25.10.7) proxies of the cluster serve on
// their admin port's /metrics, for the pods of a replay, in two phases: "before" (the
// counters when the window starts) and "after" (when it ends).
//
// Names, labels, help texts and bucket bounds are the proxy's: the outbound per route
// backend families come from linkerd2-proxy's prometheus_client registry (names as in
// linkerd/app/outbound/src/http/logical/policy/route/{metrics.rs,backend/metrics.rs},
// linkerd/http/prom/src/{count_reqs.rs,record_response/response.rs}, labels as in
// linkerd/app/outbound/src/metrics.rs and .../route/metrics/labels.rs); the inbound
// families are the proxy's legacy ones (response_total, response_latency_ms, Linkerd's
// proxy metrics reference). The proxy serves them as text/plain, the classic format.
// linkerd-viz's scrape config adds namespace, pod and deployment per target; the test's
// Prometheus adds the same labels through static_configs.

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync/atomic"

	"so1fase2/go-agent/internal/routecompare"
)

// proxyBounds are the proxy's bounds for route-backend response durations
// (RouteMetrics::RESPONSE_BUCKETS, seconds), as prometheus_client prints them.
var proxyBounds = []string{"0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "10.0", "+Inf"}

// proxyBoundsSeconds are the same, as numbers; the last is +Inf.
var proxyBoundsSeconds = []float64{0.025, 0.05, 0.1, 0.25, 0.5, 1, 10}

// flow is one pod's traffic to one backend of one parent Service, as the pod's outbound
// proxy counted it.
type flow struct {
	parent, route, backend string // route: the HTTPRoute's name, "" for the default route
	perBucket              [8]int // responses per duration bucket, not cumulative; [7]: above 10 s
	statuses               []status
}

type status struct {
	code, err string // http_status ("" when the proxy got no response) and error ("" or e.g. RESPONSE_HEADERS_TIMEOUT)
	n         int
}

func (f flow) total() int {
	n := 0
	for _, c := range f.perBucket {
		n += c
	}
	return n
}

// served is a route pod's inbound traffic: every request its proxy answered.
type served struct {
	clientID string // mTLS identity of the caller; "" for the kubelet's probes (no TLS)
	route    string // "default" or Linkerd's "probe" route
	code     string
	n        int
}

// fixturePod is one meshed pod: its Prometheus target labels and what its proxy counted.
type fixturePod struct {
	namespace, deployment, name, ip string
	outbound                        [2][]flow   // [phase]
	inbound                         [2][]served // [phase]
}

const (
	before = 0
	after  = 1
)

func ingestFlow(backend string, perBucket [8]int, statuses ...status) flow {
	return flow{parent: "ingest", route: "ingest-split", backend: backend, perBucket: perBucket, statuses: statuses}
}

func wsFlow(n int) flow {
	return flow{parent: "ws-server", backend: "ws-server", perBucket: [8]int{n}, statuses: []status{{"200", "", n}}}
}

const (
	ingressID = "ingress-nginx.ingress-nginx.serviceaccount.identity.linkerd.cluster.local"
	clientID  = "replay-client.so1-fase2.serviceaccount.identity.linkerd.cluster.local"
)

// The traffic of the window: what the split sent from the ingress's two proxies, the
// numbers routecompare must report. route1-python: 120 requests, of which 4 failed in
// Linkerd's sense (three 503, one response-headers timeout; the six 422 are answers);
// route2-node: 80, two of them 500. So the split is 60/40.
var (
	windowBuckets = map[string][8]int{ // per bucket, both ingress pods together
		"route1-python": {30, 50, 20, 14, 4, 1, 1, 0},
		"route2-node":   {10, 10, 40, 16, 3, 1, 0, 0},
	}
	windowRequests = map[string]float64{"route1-python": 120, "route2-node": 80}
	windowSuccess  = map[string]float64{"route1-python": 116, "route2-node": 78}
)

// fixturePods: two ingress-nginx pods, the second of which restarts its proxy inside the
// window (its "after" counters start again from zero); a second client of the apex
// (replay-client, calling ingest directly); and the two route pods, whose inbound counters
// also count the kubelet's /readyz probes and replay-client's requests.
func fixturePods() []fixturePod {
	return []fixturePod{
		{
			namespace: "ingress-nginx", deployment: "ingress-nginx-controller", name: "ingress-nginx-controller-7d9f8b6c5d-4kq2x", ip: "172.18.0.6",
			outbound: [2][]flow{
				before: {
					ingestFlow("route1-python", [8]int{5, 5, 5, 5, 5, 5, 5, 0}, status{"201", "", 35}),
					ingestFlow("route2-node", [8]int{0, 0, 0, 0, 10, 10, 10, 0}, status{"201", "", 30}),
					wsFlow(3),
				},
				after: { // before + 73 and 49 requests of the window
					ingestFlow("route1-python", [8]int{25, 35, 15, 15, 7, 6, 5, 0},
						status{"201", "", 35 + 68}, status{"422", "", 3}, status{"503", "", 2}),
					ingestFlow("route2-node", [8]int{6, 5, 25, 10, 12, 11, 10, 0},
						status{"201", "", 30 + 48}, status{"500", "", 1}),
					wsFlow(8),
				},
			},
		},
		{
			namespace: "ingress-nginx", deployment: "ingress-nginx-controller", name: "ingress-nginx-controller-7d9f8b6c5d-9zt6m", ip: "172.18.0.7",
			outbound: [2][]flow{
				before: {
					ingestFlow("route1-python", [8]int{100, 0, 0, 0, 0, 0, 0, 0}, status{"201", "", 100}),
					ingestFlow("route2-node", [8]int{40, 40, 40, 40, 40, 0, 0, 0}, status{"201", "", 190}, status{"500", "", 10}),
					wsFlow(50),
				},
				after: { // the proxy restarted: only the window's 47 and 31 requests since
					ingestFlow("route1-python", [8]int{10, 20, 10, 4, 2, 0, 1, 0},
						status{"201", "", 42}, status{"422", "", 3}, status{"503", "", 1}, status{"", "RESPONSE_HEADERS_TIMEOUT", 1}),
					ingestFlow("route2-node", [8]int{4, 5, 15, 6, 1, 0, 0, 0},
						status{"201", "", 30}, status{"500", "", 1}),
					wsFlow(2),
				},
			},
		},
		{
			namespace: "so1-fase2", deployment: "replay-client", name: "replay-client-5c8d7f9b4-lm2hp", ip: "172.18.0.8",
			outbound: [2][]flow{
				before: {
					ingestFlow("route1-python", [8]int{10, 0, 0, 0, 0, 0, 0, 0}, status{"201", "", 10}),
					ingestFlow("route2-node", [8]int{10, 0, 0, 0, 0, 0, 0, 0}, status{"201", "", 10}),
				},
				after: {
					ingestFlow("route1-python", [8]int{310, 100, 100, 0, 0, 0, 0, 0}, status{"201", "", 510}),
					ingestFlow("route2-node", [8]int{30, 0, 0, 0, 0, 0, 0, 0}, status{"201", "", 30}),
				},
			},
		},
		{
			namespace: "so1-fase2", deployment: "route1-python", name: "route1-python-649669f4f7-8b42w", ip: "172.18.0.3",
			inbound: [2][]served{
				before: {{ingressID, "default", "201", 135}, {clientID, "default", "201", 10}, {"", "probe", "200", 40}},
				after: {{ingressID, "default", "201", 135 + 110}, {ingressID, "default", "422", 6}, {ingressID, "default", "503", 3},
					{clientID, "default", "201", 510}, {"", "probe", "200", 100}},
			},
		},
		{
			namespace: "so1-fase2", deployment: "route2-node", name: "route2-node-5cccdc76f4-85p75", ip: "172.18.0.4",
			inbound: [2][]served{
				before: {{ingressID, "default", "201", 210}, {ingressID, "default", "500", 10}, {clientID, "default", "201", 10}, {"", "probe", "200", 40}},
				after: {{ingressID, "default", "201", 210 + 78}, {ingressID, "default", "500", 12}, {clientID, "default", "201", 30},
					{"", "probe", "200", 100}},
			},
		},
	}
}

// podTemplateHash is the ReplicaSet hash in a pod's name, which linkerd-viz copies as
// pod_template_hash.
func podTemplateHash(pod string) string {
	parts := strings.Split(pod, "-")
	return parts[len(parts)-2]
}

func outboundLabels(f flow) string {
	routeGroup, routeKind, routeNS, routeName := "gateway.networking.k8s.io", "HTTPRoute", routecompare.Namespace, f.route
	if f.route == "" { // no HTTPRoute: the default route the policy controller synthesises
		routeGroup, routeKind, routeNS, routeName = "", "default", "", "default"
	}
	return fmt.Sprintf(`parent_group="core",parent_kind="Service",parent_namespace=%q,parent_name=%q,parent_port="8080",parent_section_name="",`+
		`route_group=%q,route_kind=%q,route_namespace=%q,route_name=%q,`+
		`backend_group="core",backend_kind="Service",backend_namespace=%q,backend_name=%q,backend_port="8080",backend_section_name=""`,
		routecompare.Namespace, f.parent, routeGroup, routeKind, routeNS, routeName, routecompare.Namespace, f.backend)
}

// exposition renders what the pod's proxy serves in the given phase.
func (p fixturePod) exposition(phase int) string {
	var b strings.Builder
	b.WriteString("# HELP process_start_time_seconds Time that the process started (in seconds since the UNIX epoch)\n")
	b.WriteString("# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds 1764200000\n")
	if in := p.inbound[phase]; len(in) > 0 {
		target := fmt.Sprintf(`direction="inbound",target_addr="%s:8080",target_ip=%q,target_port="8080"`, p.ip, p.ip)
		tls := func(s served) string {
			if s.clientID == "" {
				return `tls="no_identity",no_tls_reason="no_tls_from_remote"`
			}
			return fmt.Sprintf(`tls="true",client_id=%q`, s.clientID)
		}
		srv := `srv_group="",srv_kind="default",srv_name="all-unauthenticated",srv_port="8080"`
		b.WriteString("# HELP response_total Total count of HTTP responses.\n# TYPE response_total counter\n")
		for _, s := range in {
			class := "success"
			if strings.HasPrefix(s.code, "5") {
				class = "failure"
			}
			fmt.Fprintf(&b, "response_total{%s,%s,%s,route_group=\"\",route_kind=\"default\",route_name=%q,status_code=%q,classification=%q,grpc_status=\"\",error=\"\"} %d\n",
				target, tls(s), srv, s.route, s.code, class, s.n)
		}
		b.WriteString("# HELP response_latency_ms Elapsed times between a request's headers being received and its response stream completing\n")
		b.WriteString("# TYPE response_latency_ms histogram\n")
		for _, s := range in {
			labels := fmt.Sprintf(`%s,%s,%s,route_group="",route_kind="default",route_name=%q,status_code=%q`, target, tls(s), srv, s.route, s.code)
			for _, le := range []int{1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 100, 200, 300, 400, 500, 1000} {
				n := s.n // every answer took between 3 and 4 ms
				if le < 4 {
					n = 0
				}
				fmt.Fprintf(&b, "response_latency_ms_bucket{%s,le=\"%d\"} %d\n", labels, le, n)
			}
			fmt.Fprintf(&b, "response_latency_ms_bucket{%s,le=\"+Inf\"} %d\nresponse_latency_ms_count{%s} %d\nresponse_latency_ms_sum{%s} %d\n",
				labels, s.n, labels, s.n, labels, 4*s.n)
		}
	}
	if out := p.outbound[phase]; len(out) > 0 {
		b.WriteString("# HELP outbound_http_route_backend_requests The total number of requests dispatched.\n")
		b.WriteString("# TYPE outbound_http_route_backend_requests counter\n")
		for _, f := range out {
			fmt.Fprintf(&b, "outbound_http_route_backend_requests_total{%s} %d\n", outboundLabels(f), f.total())
		}
		b.WriteString("# HELP outbound_http_route_backend_response_duration_seconds The time between request completion and response completion.\n")
		b.WriteString("# TYPE outbound_http_route_backend_response_duration_seconds histogram\n")
		b.WriteString("# UNIT outbound_http_route_backend_response_duration_seconds seconds\n")
		for _, f := range out {
			l := outboundLabels(f)
			sum, cum := 0.0, 0
			for i, c := range f.perBucket {
				if i < len(proxyBoundsSeconds) {
					sum += float64(c) * proxyBoundsSeconds[i]
				} else {
					sum += float64(c) * 20
				}
			}
			fmt.Fprintf(&b, "outbound_http_route_backend_response_duration_seconds_sum{%s} %g\n", l, sum)
			fmt.Fprintf(&b, "outbound_http_route_backend_response_duration_seconds_count{%s} %d\n", l, f.total())
			for i, c := range f.perBucket {
				cum += c
				fmt.Fprintf(&b, "outbound_http_route_backend_response_duration_seconds_bucket{%s,le=%q} %d\n", l, proxyBounds[i], cum)
			}
		}
		b.WriteString("# HELP outbound_http_route_backend_response_statuses Completed responses.\n")
		b.WriteString("# TYPE outbound_http_route_backend_response_statuses counter\n")
		for _, f := range out {
			for _, s := range f.statuses {
				fmt.Fprintf(&b, "outbound_http_route_backend_response_statuses_total{%s,http_status=%q,error=%q} %d\n", outboundLabels(f), s.code, s.err, s.n)
			}
		}
	}
	return b.String()
}

// expectedExposition serves the window's buckets as one histogram per backend, for the
// test to ask Prometheus' own histogram_quantile what the percentiles are.
func expectedExposition() string {
	var b strings.Builder
	b.WriteString("# TYPE fixture_window_seconds histogram\n")
	names := make([]string, 0, len(windowBuckets))
	for name := range windowBuckets {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		cum := 0
		for i, c := range windowBuckets[name] {
			cum += c
			fmt.Fprintf(&b, "fixture_window_seconds_bucket{backend=%q,le=%q} %d\n", name, proxyBounds[i], cum)
		}
		fmt.Fprintf(&b, "fixture_window_seconds_count{backend=%q} %d\nfixture_window_seconds_sum{backend=%q} 0\n", name, cum, name)
	}
	return b.String()
}

// fixture serves /pods/<pod>/metrics for every pod, in the current phase, and
// /expected/metrics.
type fixture struct {
	pods  []fixturePod
	phase atomic.Int32
}

func (f *fixture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain") // as the proxy's admin server answers
	if r.URL.Path == "/expected/metrics" {
		fmt.Fprint(w, expectedExposition())
		return
	}
	for _, p := range f.pods {
		if r.URL.Path == "/pods/"+p.name+"/metrics" {
			fmt.Fprint(w, p.exposition(int(f.phase.Load())))
			return
		}
	}
	http.NotFound(w, r)
}
