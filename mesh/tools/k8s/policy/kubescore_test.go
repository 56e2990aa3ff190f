package policy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"
)

// The generic rules (non-root, read-only root, requests and limits, probes,
// pinned tags, no dangling Service) are kube-score's, configured by
// mesh/tools/kube-score/checks.conf; mesh/tests/run.sh builds kube-score
// (tests/kube-score-tool.sh) and passes its path in KUBE_SCORE.
const (
	meshDir         = "../../.."
	kubeScoreConfig = meshDir + "/tools/kube-score/checks.conf"
)

func kubeScoreBinary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("KUBE_SCORE")
	if bin == "" {
		t.Fatal("KUBE_SCORE is not set: run through `make -C mesh test`, which builds kube-score first")
	}
	return bin
}

// kubeScoreChecks is checks.conf: which checks run, and the extra kube-score
// flags of the files that are exceptions, each line with its reason.
type kubeScoreChecks struct {
	enabled    map[string]bool
	exceptions map[string][]string // file (relative to mesh/) -> kube-score flags
}

var (
	checkLine     = regexp.MustCompile(`^(\S+)\s+(enable|ignore)\s+#\s*\S`)
	exceptionLine = regexp.MustCompile(`^in (\S+): (--[a-z-]+(?: [a-z-]+)?)\s+#\s*\S`)
)

func readKubeScoreChecks(t *testing.T) kubeScoreChecks {
	t.Helper()
	data, err := os.ReadFile(kubeScoreConfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg := kubeScoreChecks{enabled: map[string]bool{}, exceptions: map[string][]string{}}
	scanner := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; scanner.Scan(); n++ {
		line := strings.TrimSpace(scanner.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if m := exceptionLine.FindStringSubmatch(line); m != nil {
			cfg.exceptions[m[1]] = append(cfg.exceptions[m[1]], strings.Fields(m[2])...)
			continue
		}
		m := checkLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("%s:%d: want `<check> enable|ignore  # why` or `in <file>: <flag>  # why`, got %q", kubeScoreConfig, n, line)
		}
		if _, seen := cfg.enabled[m[1]]; seen {
			t.Fatalf("%s:%d: %s is listed twice", kubeScoreConfig, n, m[1])
		}
		cfg.enabled[m[1]] = m[2] == "enable"
	}
	return cfg
}

// kubeScoreList is `kube-score list`: check ID -> optional (off unless enabled).
func kubeScoreList(t *testing.T) map[string]bool {
	t.Helper()
	out, err := exec.Command(kubeScoreBinary(t), "list").Output()
	if err != nil {
		t.Fatalf("kube-score list: %v", err)
	}
	checks := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Split(line, ",")
		checks[fields[0]] = fields[len(fields)-1] == "optional"
	}
	return checks
}

// A check missing from checks.conf would run (or not) by kube-score's default,
// unreviewed; a check kube-score does not know would be a typo.
func TestKubeScoreConfigNamesEveryCheck(t *testing.T) {
	cfg := readKubeScoreChecks(t)
	known := kubeScoreList(t)
	for check := range known {
		if _, ok := cfg.enabled[check]; !ok {
			t.Errorf("%s: kube-score check %s is neither enabled nor ignored", kubeScoreConfig, check)
		}
	}
	for check := range cfg.enabled {
		if _, ok := known[check]; !ok {
			t.Errorf("%s: kube-score has no check %s", kubeScoreConfig, check)
		}
	}
	for file, flags := range cfg.exceptions {
		if _, err := os.Stat(filepath.Join(meshDir, file)); err != nil {
			t.Errorf("%s: exception for %s: %v", kubeScoreConfig, file, err)
		}
		for i, flag := range flags {
			if flag == "--ignore-test" && i+1 < len(flags) && !cfg.enabled[flags[i+1]] {
				t.Errorf("%s: %s ignores %s, which is not enabled anyway", kubeScoreConfig, file, flags[i+1])
			}
		}
	}
}

// kubeScoreResult is the part of kube-score's JSON output (v2) read here.
type kubeScoreResult []struct {
	ObjectName string `json:"object_name"`
	Checks     []struct {
		Check struct {
			ID string `json:"id"`
		} `json:"check"`
		Grade    int  `json:"grade"`
		Skipped  bool `json:"skipped"`
		Comments []struct {
			Path    string `json:"path"`
			Summary string `json:"summary"`
		} `json:"comments"`
	} `json:"checks"`
}

const gradeWarning = 5 // kube-score's scorecard.GradeWarning; critical is 1

// kubeScore runs the enabled checks on one manifest file and returns one line
// per failed check: "<check> <object>; <container>: <summary>".
// exceptions are the extra flags checks.conf gives this file (a check it
// ignores is reported skipped).
func kubeScore(t *testing.T, manifest string, exceptions []string) []string {
	t.Helper()
	cfg := readKubeScoreChecks(t)
	// Which checks run is checks.conf's alone: a manifest's kube-score/ignore
	// and kube-score/enable annotations have no effect.
	args := []string{"score", "--output-format", "json",
		"--disable-ignore-checks-annotations", "--disable-optional-checks-annotations"}
	enabled := map[string]bool{}
	for check, optional := range kubeScoreList(t) {
		switch {
		case !cfg.enabled[check]:
			args = append(args, "--ignore-test", check)
		case optional:
			args = append(args, "--enable-optional-test", check)
			enabled[check] = true
		default:
			enabled[check] = true
		}
	}
	var stdout, stderr bytes.Buffer
	args = append(append(args, exceptions...), manifest)
	cmd := exec.Command(kubeScoreBinary(t), args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// kube-score exits 1 on a critical grade; the JSON says which check, which is what counts.
	if err := cmd.Run(); err != nil && stdout.Len() == 0 {
		t.Fatalf("kube-score %s: %v: %s", manifest, err, stderr.String())
	}
	var result kubeScoreResult
	if err := json.Unmarshal(stdout.Bytes(), &result); err != nil {
		t.Fatalf("kube-score %s: %v", manifest, err)
	}
	var failures []string
	for _, obj := range result {
		for _, c := range obj.Checks {
			if !enabled[c.Check.ID] || c.Skipped || c.Grade > gradeWarning {
				continue
			}
			line := c.Check.ID + " " + obj.ObjectName
			for _, comment := range c.Comments {
				line += "; " + strings.TrimPrefix(comment.Path+": ", ": ") + comment.Summary
			}
			failures = append(failures, line)
		}
	}
	return failures
}

func TestKubeScorePassesRenderedVariants(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(renderedDir(t), "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no rendered variants (%v)", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			if failures := kubeScore(t, file, nil); len(failures) > 0 {
				t.Errorf("kube-score:\n  - %s", strings.Join(failures, "\n  - "))
			}
		})
	}
}

// The placeholders scripts/local-cluster.sh fills in, with values of the shape it uses.
var localClusterPlaceholders = strings.NewReplacer(
	"@COREDNS_IMAGE@", "localhost/so1-local/coredns:k8s-0123456789abcdef",
	"@DNS_SERVICE_IP@", "172.19.0.10",
	"@ENTRY_IMAGE@", "localhost/so1-local/entry-nginx:bookworm",
	"@DASHBOARD_IMAGE@", "docker.io/so1fase2/so1-web-dashboard:0.1.0",
)

func TestKubeScorePassesLocalClusterManifests(t *testing.T) {
	cfg := readKubeScoreChecks(t)
	files, err := filepath.Glob(filepath.Join(meshDir, "local-cluster", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in %s/local-cluster (%v)", meshDir, err)
	}
	for _, file := range files {
		name := "local-cluster/" + filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			filled := localClusterPlaceholders.Replace(string(data))
			if left := regexp.MustCompile(`@[A-Z_]+@`).FindString(filled); left != "" {
				t.Fatalf("placeholder %s: add it to localClusterPlaceholders", left)
			}
			manifest := filepath.Join(t.TempDir(), filepath.Base(file))
			if err := os.WriteFile(manifest, []byte(filled), 0o644); err != nil {
				t.Fatal(err)
			}
			if failures := kubeScore(t, manifest, cfg.exceptions[name]); len(failures) > 0 {
				t.Errorf("kube-score:\n  - %s", strings.Join(failures, "\n  - "))
			}
		})
	}
}

// writeManifest writes the workloads and Services of o as one YAML stream,
// what the kube-score cases below break and score.
func writeManifest(t *testing.T, o *Objects) string {
	t.Helper()
	var docs []any
	for _, d := range o.Deployments {
		docs = append(docs, d)
	}
	for _, j := range o.Jobs {
		docs = append(docs, j)
	}
	for _, s := range o.Services {
		docs = append(docs, s)
	}
	var out bytes.Buffer
	for _, doc := range docs {
		data, err := yaml.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		out.WriteString("---\n")
		out.Write(data)
	}
	file := filepath.Join(t.TempDir(), "manifest.yaml")
	if err := os.WriteFile(file, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// Each generic rule, now kube-score's, must reject the mistake it exists for.
func TestKubeScoreRejectsTheMistakesItRunsFor(t *testing.T) {
	renderedDir(t)
	cases := []struct {
		name    string
		variant string
		breakIt func(o *Objects)
		want    string // the check that must fail
	}{
		{"runs as root", "gke-httproute-split", func(o *Objects) {
			root := int64(0)
			o.Deployments[0].Spec.Template.Spec.SecurityContext.RunAsUser = &root
		}, "container-security-context-user-group-id"},
		{"no user set", "local-smi-trafficsplit", func(o *Objects) {
			o.Deployments[1].Spec.Template.Spec.SecurityContext.RunAsUser = nil
		}, "container-security-context-user-group-id"},
		{"migration Job runs as root", "gke-smi-trafficsplit", func(o *Objects) {
			root := int64(0)
			o.Jobs[0].Spec.Template.Spec.SecurityContext.RunAsUser = &root
		}, "container-security-context-user-group-id"},
		{"migration Job without memory limit", "local-httproute-split", func(o *Objects) {
			delete(o.Jobs[0].Spec.Template.Spec.Containers[0].Resources.Limits, corev1.ResourceMemory)
		}, "container-resources"},
		{"writable root filesystem", "gke-httproute-split", func(o *Objects) {
			f := false
			o.Deployments[2].Spec.Template.Spec.Containers[0].SecurityContext.ReadOnlyRootFilesystem = &f
		}, "container-security-context-readonlyrootfilesystem"},
		{"writable root filesystem in the Cloud SQL proxy", "gke-smi-trafficsplit", func(o *Objects) {
			o.Deployments[0].Spec.Template.Spec.InitContainers[0].SecurityContext.ReadOnlyRootFilesystem = nil
		}, "container-security-context-readonlyrootfilesystem"},
		{"privileged container", "local-httproute-split", func(o *Objects) {
			yes := true
			o.Deployments[0].Spec.Template.Spec.Containers[0].SecurityContext.Privileged = &yes
		}, "container-security-context-privileged"},
		{"no memory limit", "local-httproute-split", func(o *Objects) {
			delete(o.Deployments[1].Spec.Template.Spec.Containers[0].Resources.Limits, corev1.ResourceMemory)
		}, "container-resources"},
		{"no CPU request on the Cloud SQL proxy", "gke-httproute-split", func(o *Objects) {
			delete(o.Deployments[1].Spec.Template.Spec.InitContainers[0].Resources.Requests, corev1.ResourceCPU)
		}, "container-resources"},
		{"zero memory request", "local-smi-trafficsplit", func(o *Objects) {
			o.Deployments[2].Spec.Template.Spec.Containers[0].Resources.Requests[corev1.ResourceMemory] = resource.Quantity{}
		}, "container-resources"},
		{"image tag latest", "gke-httproute-split", func(o *Objects) {
			o.Deployments[1].Spec.Template.Spec.Containers[0].Image = "docker.io/so1fase2/so1-route2-node:latest"
		}, "container-image-tag"},
		{"image without tag", "local-httproute-split", func(o *Objects) {
			o.Deployments[1].Spec.Template.Spec.Containers[0].Image = "docker.io/so1fase2/so1-route2-node"
		}, "container-image-tag"},
		{"no readiness probe", "local-httproute-split", func(o *Objects) {
			o.Deployments[0].Spec.Template.Spec.Containers[0].ReadinessProbe = nil
		}, "pod-probes"},
		{"service selects no pod", "gke-httproute-split", func(o *Objects) {
			service(o, "ws-server").Spec.Selector = map[string]string{"app.kubernetes.io/name": "ws"}
		}, "service-targets-pod"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			objs := variant(t, tc.variant)
			if failures := kubeScore(t, writeManifest(t, objs), nil); len(failures) > 0 {
				t.Fatalf("variant %s must pass before it is broken:\n  - %s", tc.variant, strings.Join(failures, "\n  - "))
			}
			tc.breakIt(objs)
			failures := kubeScore(t, writeManifest(t, objs), nil)
			if !slices.ContainsFunc(failures, func(f string) bool { return strings.HasPrefix(f, tc.want+" ") }) {
				t.Fatalf("want kube-score's %s to fail, got:\n  - %s", tc.want, strings.Join(failures, "\n  - "))
			}
		})
	}
}
