// Package policy checks rendered Kubernetes manifests for the mistakes an API
// server accepts but a running cluster punishes: a port that points nowhere, an
// uneven or broken split, an Ingress that bypasses the mesh, an image from
// elsewhere, a password in a manifest.
//
// The generic rules (non-root, read-only root filesystem, requests and limits,
// probes present, an explicit non-latest tag, no Service selecting nothing) are
// kube-score's, configured by mesh/tools/kube-score/checks.conf. The generic
// ones kept here are those kube-score lacks: allowPrivilegeEscalation false,
// credentials in env or Secrets, probes per container (kube-score's pod-probes
// is satisfied by any container of the pod, the Cloud SQL proxy's included),
// and a Service port's target.
package policy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Names fixed for the whole project.
const (
	Namespace   = "so1-fase2"
	ApexService = "ingest"
)

// Routes are the two backends of the split; every one needs a PDB and an HPA.
var Routes = []string{"route1-python", "route2-node"}

// HTTPRoute is the part of a Gateway API HTTPRoute that the split uses.
type HTTPRoute struct {
	Metadata struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Spec struct {
		ParentRefs []struct {
			Group *string `json:"group"`
			Kind  *string `json:"kind"`
			Name  string  `json:"name"`
			Port  *int32  `json:"port"`
		} `json:"parentRefs"`
		Rules []struct {
			BackendRefs []struct {
				Group  *string `json:"group"`
				Kind   *string `json:"kind"`
				Name   string  `json:"name"`
				Port   *int32  `json:"port"`
				Weight *int32  `json:"weight"`
			} `json:"backendRefs"`
		} `json:"rules"`
	} `json:"spec"`
}

// TrafficSplit is an SMI split.smi-spec.io/v1alpha2 TrafficSplit.
type TrafficSplit struct {
	Metadata struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Spec struct {
		Service  string `json:"service"`
		Backends []struct {
			Service string `json:"service"`
			Weight  int64  `json:"weight"`
		} `json:"backends"`
	} `json:"spec"`
}

// Objects is one rendered variant, sorted by kind.
type Objects struct {
	Deployments    []appsv1.Deployment
	Jobs           []batchv1.Job
	Services       []corev1.Service
	EndpointSlices []discoveryv1.EndpointSlice
	Ingresses      []networkingv1.Ingress
	Secrets        []corev1.Secret
	PDBs           []policyv1.PodDisruptionBudget
	HPAs           []autoscalingv2.HorizontalPodAutoscaler
	HTTPRoutes     []HTTPRoute
	TrafficSplits  []TrafficSplit
	Kinds          map[string]int
}

// Parse reads a multi-document YAML stream as `kubectl kustomize` prints it.
func Parse(data []byte) (*Objects, error) {
	objs := &Objects{Kinds: map[string]int{}}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		var head struct {
			Kind string `json:"kind"`
		}
		if err := yaml.Unmarshal(doc, &head); err != nil {
			return nil, err
		}
		objs.Kinds[head.Kind]++
		var target any
		switch head.Kind {
		case "Deployment":
			target = appendNew(&objs.Deployments)
		case "Job":
			target = appendNew(&objs.Jobs)
		case "Service":
			target = appendNew(&objs.Services)
		case "EndpointSlice":
			target = appendNew(&objs.EndpointSlices)
		case "Ingress":
			target = appendNew(&objs.Ingresses)
		case "Secret":
			target = appendNew(&objs.Secrets)
		case "PodDisruptionBudget":
			target = appendNew(&objs.PDBs)
		case "HorizontalPodAutoscaler":
			target = appendNew(&objs.HPAs)
		case "HTTPRoute":
			target = appendNew(&objs.HTTPRoutes)
		case "TrafficSplit":
			target = appendNew(&objs.TrafficSplits)
		default:
			continue
		}
		unmarshal := yaml.UnmarshalStrict
		if head.Kind == "HTTPRoute" || head.Kind == "TrafficSplit" {
			unmarshal = yaml.Unmarshal // partial types: unknown fields are expected
		}
		if err := unmarshal(doc, target); err != nil {
			return nil, fmt.Errorf("%s: %w", head.Kind, err)
		}
	}
}

// appendNew appends a zero T to list and returns a pointer to it, for Parse to
// decode the document into.
func appendNew[T any](list *[]T) *T {
	*list = append(*list, *new(T))
	return &(*list)[len(*list)-1]
}

// Check runs every rule and returns one error per violation.
func Check(o *Objects) []error {
	var errs []error
	errs = append(errs, CheckServices(o)...)
	errs = append(errs, CheckSplit(o)...)
	errs = append(errs, CheckIngress(o)...)
	errs = append(errs, CheckImages(o)...)
	errs = append(errs, CheckSecrets(o)...)
	errs = append(errs, CheckPods(o)...)
	errs = append(errs, CheckAvailability(o)...)
	return errs
}

// CheckServices: a selector-less Service has an EndpointSlice, and every port
// targets a container port of each pod template the Service selects.
// (A selector that matches no pod template is kube-score's service-targets-pod.)
func CheckServices(o *Objects) []error {
	var errs []error
	for _, svc := range o.Services {
		if len(svc.Spec.Selector) == 0 {
			if !hasEndpointSlice(o, svc.Name) {
				errs = append(errs, fmt.Errorf("service %s: no selector and no EndpointSlice", svc.Name))
			}
			continue
		}
		selector := labels.SelectorFromSet(svc.Spec.Selector)
		for _, dep := range o.Deployments {
			if dep.Namespace != svc.Namespace || !selector.Matches(labels.Set(dep.Spec.Template.Labels)) {
				continue
			}
			for _, port := range svc.Spec.Ports {
				if !templateHasPort(dep.Spec.Template.Spec, port) {
					errs = append(errs, fmt.Errorf("service %s port %d: target %s is no container port of deployment %s",
						svc.Name, port.Port, port.TargetPort.String(), dep.Name))
				}
			}
		}
	}
	return errs
}

func hasEndpointSlice(o *Objects, service string) bool {
	for _, slice := range o.EndpointSlices {
		if slice.Labels[discoveryv1.LabelServiceName] == service && len(slice.Endpoints) > 0 {
			return true
		}
	}
	return false
}

func templateHasPort(pod corev1.PodSpec, port corev1.ServicePort) bool {
	target := port.TargetPort
	for _, c := range pod.Containers {
		for _, cp := range c.Ports {
			if target.String() == "" || target.String() == "0" {
				if cp.ContainerPort == port.Port {
					return true
				}
			} else if target.StrVal != "" && cp.Name == target.StrVal {
				return true
			} else if target.StrVal == "" && cp.ContainerPort == target.IntVal {
				return true
			}
		}
	}
	return false
}

func service(o *Objects, name string) *corev1.Service {
	for i := range o.Services {
		if o.Services[i].Name == name {
			return &o.Services[i]
		}
	}
	return nil
}

func servicePortNumbers(svc *corev1.Service) []int32 {
	var ports []int32
	for _, p := range svc.Spec.Ports {
		ports = append(ports, p.Port)
	}
	sort.Slice(ports, func(i, j int) bool { return ports[i] < ports[j] })
	return ports
}

// CheckSplit: exactly one split (an HTTPRoute or a TrafficSplit) on the apex
// Service, two backends that are the two routes, equal weights, and apex and
// backend ports that match.
func CheckSplit(o *Objects) []error {
	if n := len(o.HTTPRoutes) + len(o.TrafficSplits); n != 1 {
		return []error{fmt.Errorf("want exactly one split (HTTPRoute or TrafficSplit), found %d", n)}
	}
	apex := service(o, ApexService)
	if apex == nil {
		return []error{fmt.Errorf("apex service %q is missing", ApexService)}
	}
	apexPorts := servicePortNumbers(apex)
	var errs []error
	type backend struct {
		name   string
		port   *int32
		weight int64
	}
	var backends []backend
	if len(o.HTTPRoutes) == 1 {
		route := o.HTTPRoutes[0]
		if len(route.Spec.ParentRefs) != 1 {
			errs = append(errs, fmt.Errorf("httproute %s: want one parentRef, found %d", route.Metadata.Name, len(route.Spec.ParentRefs)))
		}
		for _, parent := range route.Spec.ParentRefs {
			if deref(parent.Group) != "core" || deref(parent.Kind) != "Service" || parent.Name != ApexService {
				errs = append(errs, fmt.Errorf("httproute %s: parentRef must be group core, kind Service, name %s; found %s/%s/%s",
					route.Metadata.Name, ApexService, deref(parent.Group), deref(parent.Kind), parent.Name))
			}
			if parent.Port == nil || !containsPort(apexPorts, *parent.Port) {
				errs = append(errs, fmt.Errorf("httproute %s: parentRef port must be a port of %s %v", route.Metadata.Name, ApexService, apexPorts))
			}
		}
		if len(route.Spec.Rules) != 1 {
			errs = append(errs, fmt.Errorf("httproute %s: want one rule, found %d", route.Metadata.Name, len(route.Spec.Rules)))
		}
		for _, rule := range route.Spec.Rules {
			for _, ref := range rule.BackendRefs {
				if ref.Kind != nil && *ref.Kind != "Service" {
					errs = append(errs, fmt.Errorf("httproute %s: backendRef %s is a %s, not a Service", route.Metadata.Name, ref.Name, *ref.Kind))
				}
				weight := int64(1) // the Gateway API default
				if ref.Weight != nil {
					weight = int64(*ref.Weight)
				}
				backends = append(backends, backend{ref.Name, ref.Port, weight})
			}
		}
	} else {
		split := o.TrafficSplits[0]
		if split.Spec.Service != ApexService {
			errs = append(errs, fmt.Errorf("trafficsplit %s: apex is %q, want %q", split.Metadata.Name, split.Spec.Service, ApexService))
		}
		for _, b := range split.Spec.Backends {
			backends = append(backends, backend{b.Service, nil, b.Weight})
		}
	}
	var names []string
	for _, b := range backends {
		names = append(names, b.name)
		svc := service(o, b.name)
		if svc == nil {
			errs = append(errs, fmt.Errorf("split backend %s: no such service", b.name))
			continue
		}
		if got := servicePortNumbers(svc); fmt.Sprint(got) != fmt.Sprint(apexPorts) {
			errs = append(errs, fmt.Errorf("split backend %s: ports %v differ from apex %s ports %v", b.name, got, ApexService, apexPorts))
		}
		if b.port != nil && !containsPort(apexPorts, *b.port) {
			errs = append(errs, fmt.Errorf("split backend %s: port %d is not an apex port %v", b.name, *b.port, apexPorts))
		}
		if b.weight <= 0 || b.weight != backends[0].weight {
			errs = append(errs, fmt.Errorf("split backend %s: weight %d, want all weights equal and positive (50/50)", b.name, b.weight))
		}
	}
	sort.Strings(names)
	if fmt.Sprint(names) != fmt.Sprint(Routes) {
		errs = append(errs, fmt.Errorf("split backends are %v, want %v", names, Routes))
	}
	return errs
}

func containsPort(ports []int32, port int32) bool {
	for _, p := range ports {
		if p == port {
			return true
		}
	}
	return false
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// CheckIngress: one Ingress of class nginx, with the annotation that makes
// nginx call the Service (so its Linkerd proxy splits), websocket timeouts,
// /api to the apex and /socket.io to ws-server; the pods it reaches are meshed.
func CheckIngress(o *Objects) []error {
	if len(o.Ingresses) != 1 {
		return []error{fmt.Errorf("want exactly one Ingress, found %d", len(o.Ingresses))}
	}
	ing := o.Ingresses[0]
	var errs []error
	if ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != "nginx" {
		errs = append(errs, fmt.Errorf("ingress %s: ingressClassName must be nginx", ing.Name))
	}
	if ing.Annotations["nginx.ingress.kubernetes.io/service-upstream"] != "true" {
		errs = append(errs, fmt.Errorf("ingress %s: nginx.ingress.kubernetes.io/service-upstream must be \"true\", or Linkerd never sees the apex service", ing.Name))
	}
	for _, key := range []string{"proxy-read-timeout", "proxy-send-timeout"} {
		value := ing.Annotations["nginx.ingress.kubernetes.io/"+key]
		var seconds int
		if _, err := fmt.Sscanf(value, "%d", &seconds); err != nil || seconds < 3600 {
			errs = append(errs, fmt.Errorf("ingress %s: %s is %q, want >= 3600 for websockets", ing.Name, key, value))
		}
	}
	want := map[string]string{"/api": ApexService, "/socket.io": "ws-server"}
	got := map[string]string{}
	for _, rule := range ing.Spec.Rules {
		if rule.HTTP == nil {
			continue
		}
		for _, path := range rule.HTTP.Paths {
			if path.Backend.Service != nil {
				got[path.Path] = path.Backend.Service.Name
			}
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		errs = append(errs, fmt.Errorf("ingress %s: paths %v, want %v", ing.Name, got, want))
	}
	for _, dep := range o.Deployments {
		if dep.Spec.Template.Annotations["linkerd.io/inject"] != "enabled" {
			errs = append(errs, fmt.Errorf("deployment %s: pod template lacks linkerd.io/inject: enabled", dep.Name))
		}
	}
	return errs
}

// Our images come from DockerHub; the only other image is Google's Cloud SQL
// Auth Proxy, which Google publishes on its own registry alone. kube-score's
// container-image-tag refuses `latest`; the other words here move too.
var (
	projectImage    = regexp.MustCompile(`^docker\.io/[a-z0-9][a-z0-9_.-]*/so1-[a-z0-9-]+:([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$`)
	cloudSQLProxy   = regexp.MustCompile(`^gcr\.io/cloud-sql-connectors/cloud-sql-proxy:(\d+\.\d+\.\d+)$`)
	floatingTagWord = regexp.MustCompile(`^(stable|main|master|edge)$`)
)

// CheckImages: every image is the project's or the pinned Cloud SQL proxy, and
// its tag is not one that moves.
func CheckImages(o *Objects) []error {
	var errs []error
	for _, c := range containers(o) {
		var tag string
		if m := projectImage.FindStringSubmatch(c.Image); m != nil {
			tag = m[1]
		} else if m := cloudSQLProxy.FindStringSubmatch(c.Image); m != nil {
			tag = m[1]
		} else {
			errs = append(errs, fmt.Errorf("%s: image %q is neither docker.io/<user>/so1-*:<tag> nor the pinned Cloud SQL proxy", c.where, c.Image))
			continue
		}
		if floatingTagWord.MatchString(tag) {
			errs = append(errs, fmt.Errorf("%s: image %q has a floating tag", c.where, c.Image))
		}
	}
	return errs
}

// container is one container of a pod template, with where to find it.
type container struct {
	corev1.Container
	where string // "deployment route1-python container route1-python"
}

// containers lists the containers, init containers included, of every
// Deployment and Job.
func containers(o *Objects) []container {
	var list []container
	add := func(kind, name string, pod corev1.PodSpec) {
		for _, c := range append(append([]corev1.Container{}, pod.InitContainers...), pod.Containers...) {
			list = append(list, container{c, fmt.Sprintf("%s %s container %s", kind, name, c.Name)})
		}
	}
	for _, dep := range o.Deployments {
		add("deployment", dep.Name, dep.Spec.Template.Spec)
	}
	for _, job := range o.Jobs {
		add("job", job.Name, job.Spec.Template.Spec)
	}
	return list
}

var secretName = regexp.MustCompile(`(?i)(password|passwd|secret|token|key)`)

// CheckSecrets: no Secret carries data, and no env var that looks like a
// credential has a literal value.
func CheckSecrets(o *Objects) []error {
	var errs []error
	for _, s := range o.Secrets {
		if len(s.Data) > 0 || len(s.StringData) > 0 {
			errs = append(errs, fmt.Errorf("secret %s holds data in a manifest", s.Name))
		}
	}
	for _, c := range containers(o) {
		for _, env := range c.Env {
			if secretName.MatchString(env.Name) && env.Value != "" {
				errs = append(errs, fmt.Errorf("%s: env %s has a literal value", c.where, env.Name))
			}
		}
	}
	return errs
}

// CheckPods: no privilege escalation in any container (kube-score has no such
// check); readiness on /readyz and liveness on /healthz in each app container
// of a Deployment, the endpoints every service of this project serves.
func CheckPods(o *Objects) []error {
	var errs []error
	for _, c := range containers(o) {
		sc := c.SecurityContext
		if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			errs = append(errs, fmt.Errorf("%s: allowPrivilegeEscalation not false", c.where))
		}
	}
	for _, dep := range o.Deployments {
		for _, c := range dep.Spec.Template.Spec.Containers {
			where := fmt.Sprintf("deployment %s container %s", dep.Name, c.Name)
			if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
				errs = append(errs, fmt.Errorf("%s: readiness probe must GET /readyz", where))
			}
			if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
				errs = append(errs, fmt.Errorf("%s: liveness probe must GET /healthz", where))
			}
		}
	}
	return errs
}

// CheckAvailability: a PodDisruptionBudget and an HPA for each route.
func CheckAvailability(o *Objects) []error {
	var errs []error
	for _, route := range Routes {
		var dep *appsv1.Deployment
		for i := range o.Deployments {
			if o.Deployments[i].Name == route {
				dep = &o.Deployments[i]
			}
		}
		if dep == nil {
			errs = append(errs, fmt.Errorf("deployment %s is missing", route))
			continue
		}
		hasPDB := false
		for _, pdb := range o.PDBs {
			if pdb.Spec.Selector != nil && labels.SelectorFromSet(pdb.Spec.Selector.MatchLabels).Matches(labels.Set(dep.Spec.Template.Labels)) {
				hasPDB = true
			}
		}
		if !hasPDB {
			errs = append(errs, fmt.Errorf("deployment %s: no PodDisruptionBudget selects it", route))
		}
		hasHPA := false
		for _, hpa := range o.HPAs {
			if hpa.Spec.ScaleTargetRef.Kind == "Deployment" && hpa.Spec.ScaleTargetRef.Name == route {
				hasHPA = true
			}
		}
		if !hasHPA {
			errs = append(errs, fmt.Errorf("deployment %s: no HorizontalPodAutoscaler scales it", route))
		}
	}
	return errs
}

// Join renders errors one per line for a test failure.
func Join(errs []error) string {
	lines := make([]string, len(errs))
	for i, err := range errs {
		lines[i] = "  - " + err.Error()
	}
	return strings.Join(lines, "\n")
}
