package routecompare

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// Namespace of the mesh manifests.
const Namespace = "so1-fase2"

// ClusterRoute maps a route name to its Deployment.
type ClusterRoute struct {
	Name       string // "python" or "node"
	Deployment string // "route1-python" or "route2-node"
}

// ParseClusterRoutes parses the -deployments flag: "python=route1-python,node=route2-node".
func ParseClusterRoutes(spec string) ([]ClusterRoute, error) {
	return parseNamed(spec, "-deployments", "route=deployment", func(name, dep string) (ClusterRoute, bool) {
		return ClusterRoute{Name: name, Deployment: dep}, true
	})
}

// QueryCluster reads linkerd-viz's Prometheus: the increase of the inbound proxy
// counters of each Deployment over the last window (the mesh counts every inbound
// request of the pod, probes included).
func QueryCluster(ctx context.Context, client *http.Client, promURL string, routes []ClusterRoute, window time.Duration) ([]RouteStats, error) {
	deps := make([]string, len(routes))
	for i, r := range routes {
		deps[i] = r.Deployment
	}
	sel := fmt.Sprintf(`direction="inbound",namespace=%q,deployment=~%q`, Namespace, strings.Join(deps, "|"))
	w := model.Duration(window).String()
	total, err := instantQuery(ctx, client, promURL, fmt.Sprintf(`sum by (deployment) (increase(response_total{%s}[%s]))`, sel, w))
	if err != nil {
		return nil, err
	}
	success, err := instantQuery(ctx, client, promURL, fmt.Sprintf(`sum by (deployment) (increase(response_total{%s,classification="success"}[%s]))`, sel, w))
	if err != nil {
		return nil, err
	}
	buckets, err := instantQuery(ctx, client, promURL, fmt.Sprintf(`sum by (deployment, le) (increase(response_latency_ms_bucket{%s}[%s]))`, sel, w))
	if err != nil {
		return nil, err
	}
	out := make([]RouteStats, len(routes))
	for i, r := range routes {
		out[i] = RouteStats{Route: r.Name}
		for _, s := range total {
			if s.labels["deployment"] == r.Deployment {
				out[i].Requests += s.value
			}
		}
		for _, s := range success {
			if s.labels["deployment"] == r.Deployment {
				out[i].Success += s.value
			}
		}
		for _, s := range buckets {
			if s.labels["deployment"] != r.Deployment {
				continue
			}
			le, err := strconv.ParseFloat(s.labels["le"], 64)
			if err != nil {
				return nil, fmt.Errorf("bucket of %s: le %q: %w", r.Deployment, s.labels["le"], err)
			}
			out[i].Buckets = append(out[i].Buckets, Bucket{UpperMs: le, Count: s.value})
		}
		sort.Slice(out[i].Buckets, func(a, b int) bool { return out[i].Buckets[a].UpperMs < out[i].Buckets[b].UpperMs })
	}
	return out, nil
}

type sample struct {
	labels map[string]string
	value  float64
}

// instantQuery runs one PromQL instant query and returns its vector.
func instantQuery(ctx context.Context, client *http.Client, promURL, query string) ([]sample, error) {
	u := strings.TrimRight(promURL, "/") + "/api/v1/query?" + url.Values{"query": {query}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	var answer struct {
		Status    string `json:"status"`
		Error     string `json:"error"`
		ErrorType string `json:"errorType"`
		Data      struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		return nil, fmt.Errorf("prometheus: status %d, not the query API's JSON: %w", resp.StatusCode, err)
	}
	if answer.Status != "success" {
		return nil, fmt.Errorf("prometheus: query %s: %s: %s", query, answer.ErrorType, answer.Error)
	}
	if answer.Data.ResultType != "vector" {
		return nil, fmt.Errorf("prometheus: query %s: result type %q, want vector", query, answer.Data.ResultType)
	}
	out := make([]sample, 0, len(answer.Data.Result))
	for _, r := range answer.Data.Result {
		str, ok := r.Value[1].(string)
		if !ok {
			return nil, fmt.Errorf("prometheus: sample value %v is not a string", r.Value[1])
		}
		v, err := strconv.ParseFloat(str, 64)
		if err != nil {
			return nil, fmt.Errorf("prometheus: sample value %q: %w", str, err)
		}
		out = append(out, sample{labels: r.Metric, value: v})
	}
	return out, nil
}
