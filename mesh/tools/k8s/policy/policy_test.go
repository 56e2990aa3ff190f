package policy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// renderedDir is where mesh/tests/run.sh rendered every variant with
// `kubectl kustomize`, one <variant>.yaml each.
func renderedDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("RENDERED_DIR")
	if dir == "" {
		t.Fatal("RENDERED_DIR is not set: run through `make -C mesh test`, which renders every variant first")
	}
	return dir
}

// parseFile is a fresh parse of one rendered variant.
func parseFile(t *testing.T, file string) *Objects {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := Parse(data)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return objs
}

// renderedVariants parses every rendered variant, by name.
func renderedVariants(t *testing.T) map[string]*Objects {
	t.Helper()
	dir := renderedDir(t)
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no rendered variants in %s (%v)", dir, err)
	}
	variants := map[string]*Objects{}
	for _, file := range files {
		variants[strings.TrimSuffix(filepath.Base(file), ".yaml")] = parseFile(t, file)
	}
	return variants
}

func TestRenderedVariantsPassEveryRule(t *testing.T) {
	for name, objs := range renderedVariants(t) {
		t.Run(name, func(t *testing.T) {
			if objs.Kinds["Deployment"] != 3 || objs.Kinds["Job"] != 1 || objs.Kinds["Namespace"] != 1 {
				t.Fatalf("unexpected object set: %v", objs.Kinds)
			}
			if errs := Check(objs); len(errs) > 0 {
				t.Errorf("%d violations:\n%s", len(errs), Join(errs))
			}
		})
	}
}

// A fresh parse of one rendered variant, for the tests that break it on purpose.
func variant(t *testing.T, name string) *Objects {
	t.Helper()
	return parseFile(t, filepath.Join(renderedDir(t), name+".yaml"))
}

// Each rule must reject the mistake it exists for; a check that cannot fail
// proves nothing about the manifests above.
func TestRulesRejectTheMistakesTheyExistFor(t *testing.T) {
	renderedDir(t)
	cases := []struct {
		name    string
		variant string
		breakIt func(o *Objects)
		want    string
	}{
		{"uneven HTTPRoute weights", "gke-httproute-split", func(o *Objects) {
			w := int32(60)
			o.HTTPRoutes[0].Spec.Rules[0].BackendRefs[0].Weight = &w
		}, "weight"},
		{"uneven TrafficSplit weights", "gke-smi-trafficsplit", func(o *Objects) {
			o.TrafficSplits[0].Spec.Backends[1].Weight = 400
		}, "weight"},
		{"split to a missing apex", "local-smi-trafficsplit", func(o *Objects) {
			o.TrafficSplits[0].Spec.Service = "ingest-apex"
		}, "apex is"},
		{"backend port differs from apex", "gke-httproute-split", func(o *Objects) {
			svc := service(o, "route2-node")
			svc.Spec.Ports[0].Port = 80
		}, "differ from apex"},
		{"HTTPRoute parent is not the Service", "local-httproute-split", func(o *Objects) {
			g := "gateway.networking.k8s.io"
			o.HTTPRoutes[0].Spec.ParentRefs[0].Group = &g
		}, "parentRef must be"},
		{"two splits", "gke-httproute-split", func(o *Objects) {
			o.TrafficSplits = append(o.TrafficSplits, TrafficSplit{})
		}, "exactly one split"},
		{"service targets a missing port", "local-httproute-split", func(o *Objects) {
			service(o, ApexService).Spec.Ports[0].TargetPort.StrVal = "web"
		}, "is no container port"},
		{"ingress bypasses the mesh", "gke-httproute-split", func(o *Objects) {
			delete(o.Ingresses[0].Annotations, "nginx.ingress.kubernetes.io/service-upstream")
		}, "service-upstream"},
		{"websocket cut after 60 s", "gke-httproute-split", func(o *Objects) {
			o.Ingresses[0].Annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"] = "60"
		}, "proxy-read-timeout"},
		{"pod not meshed", "local-httproute-split", func(o *Objects) {
			delete(o.Deployments[0].Spec.Template.Annotations, "linkerd.io/inject")
		}, "linkerd.io/inject"},
		{"image tag main", "gke-httproute-split", func(o *Objects) {
			o.Deployments[1].Spec.Template.Spec.Containers[0].Image = "docker.io/so1fase2/so1-route2-node:main"
		}, "floating tag"},
		{"image without tag", "gke-httproute-split", func(o *Objects) {
			o.Deployments[1].Spec.Template.Spec.Containers[0].Image = "docker.io/so1fase2/so1-route2-node"
		}, "neither docker.io"},
		{"image from another registry", "local-httproute-split", func(o *Objects) {
			o.Deployments[0].Spec.Template.Spec.Containers[0].Image = "ghcr.io/so1fase2/so1-route1-python:0.1.0"
		}, "neither docker.io"},
		{"secret with data", "gke-httproute-split", func(o *Objects) {
			o.Secrets = append(o.Secrets, corev1.Secret{StringData: map[string]string{"DB_PASSWORD": "x"}})
		}, "holds data"},
		{"password as literal env", "gke-httproute-split", func(o *Objects) {
			c := &o.Deployments[0].Spec.Template.Spec.Containers[0]
			c.Env = append(c.Env, corev1.EnvVar{Name: "DB_PASSWORD", Value: "hunter2"})
		}, "literal value"},
		{"privilege escalation in the Cloud SQL proxy", "gke-httproute-split", func(o *Objects) {
			o.Deployments[2].Spec.Template.Spec.InitContainers[0].SecurityContext.AllowPrivilegeEscalation = nil
		}, "allowPrivilegeEscalation"},
		{"privilege escalation in the migration Job", "local-smi-trafficsplit", func(o *Objects) {
			yes := true
			o.Jobs[0].Spec.Template.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = &yes
		}, "job db-migrate container migrate: allowPrivilegeEscalation"},
		{"password as literal env in the migration Job", "gke-smi-trafficsplit", func(o *Objects) {
			c := &o.Jobs[0].Spec.Template.Spec.Containers[0]
			c.Env = append(c.Env, corev1.EnvVar{Name: "DB_MIGRATE_PASSWORD", Value: "hunter2"})
		}, "job db-migrate container migrate: env DB_MIGRATE_PASSWORD has a literal value"},
		{"readiness probe on another path", "local-httproute-split", func(o *Objects) {
			o.Deployments[0].Spec.Template.Spec.Containers[0].ReadinessProbe.HTTPGet.Path = "/healthz"
		}, "/readyz"},
		{"app container without liveness probe beside a sidecar that has one", "gke-smi-trafficsplit", func(o *Objects) {
			o.Deployments[2].Spec.Template.Spec.Containers[0].LivenessProbe = nil
		}, "/healthz"},
		{"route without HPA", "gke-httproute-split", func(o *Objects) {
			o.HPAs = o.HPAs[:1]
		}, "HorizontalPodAutoscaler"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			objs := variant(t, tc.variant)
			if errs := Check(objs); len(errs) > 0 {
				t.Fatalf("variant %s must pass before it is broken:\n%s", tc.variant, Join(errs))
			}
			tc.breakIt(objs)
			errs := Check(objs)
			if !strings.Contains(Join(errs), tc.want) {
				t.Fatalf("want a violation mentioning %q, got:\n%s", tc.want, Join(errs))
			}
		})
	}
}
