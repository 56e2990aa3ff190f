package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"so1fase2/go-agent/internal/collector"
)

const carnet = "202000000"

// testReadTimeout is long enough that only a file that really blocks times out on a busy machine.
const testReadTimeout = 10 * time.Second

// procConfig reads the tree at root as an agent does, with reads of its own.
func procConfig(root string) collector.Config {
	return collector.Config{ProcRoot: root, Carnet: carnet, Reads: collector.NewReads(testReadTimeout)}
}

var recordSchema = func() *jsonschema.Schema {
	sch, err := jsonschema.NewCompiler().Compile(filepath.Join("..", "..", "..", "contracts", "metric-record.schema.json"))
	if err != nil {
		panic(err)
	}
	return sch
}()

// copyTree copies a testdata tree into a temp dir the test may change.
func copyTree(t *testing.T, name string) string {
	t.Helper()
	src := filepath.Join("..", "..", "testdata", name)
	dst := t.TempDir()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func write(t *testing.T, path, content string) {
	t.Helper()
	// Write then rename, as a reader must never see a half-written file here.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// writeRunningProcs makes the procesos module under root report n processes, all running.
func writeRunningProcs(t *testing.T, root string, n int) {
	t.Helper()
	write(t, filepath.Join(root, "procesos_"+carnet), fmt.Sprintf(
		`{"procesos_corriendo":%d,"total_procesos":%d,"procesos_durmiendo":0,"procesos_zombie":0,"procesos_parados":0}`+"\n", n, n))
}

// startAgent runs a sampler with a short window over root and returns a test server.
// advance is called once the sampler has its baseline, to move the CPU counters on.
func startAgent(t *testing.T, cfg collector.Config, ttl time.Duration, advance func()) (*httptest.Server, *CPUSampler) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	sampler := NewCPUSampler(cfg, 20*time.Millisecond)
	done := sampler.Start(ctx)
	t.Cleanup(func() { cancel(); <-done })
	if advance != nil {
		advance()
		deadline := time.Now().Add(10 * time.Second)
		for sampler.Latest().Err != nil {
			if time.Now().After(deadline) {
				t.Fatalf("CPU never sampled: %v", sampler.Latest().Err)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	srv := httptest.NewServer(NewServer(sampler, NewSnapshotReader(cfg, ttl), cfg.Reads).Handler())
	t.Cleanup(srv.Close)
	return srv, sampler
}

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

// validRecord checks body against the contract and decodes it.
func validRecord(t *testing.T, body []byte) Record {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("record is not JSON: %v: %s", err, body)
	}
	if err := recordSchema.Validate(inst); err != nil {
		t.Fatalf("record breaks the contract: %v\n%s", err, body)
	}
	var rec Record
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		t.Fatal(err)
	}
	hora, err := time.Parse(HoraLayout, rec.Hora)
	if err != nil || time.Since(hora) > time.Minute || time.Until(hora) > time.Second {
		t.Fatalf("hora %q is not the UTC time of the reading (%v)", rec.Hora, err)
	}
	if rec.PorcentajeCPUUso+rec.PorcentajeCPULibre < 99.999 || rec.PorcentajeCPUUso+rec.PorcentajeCPULibre > 100.001 {
		t.Fatalf("cpu uso + libre = %v", rec.PorcentajeCPUUso+rec.PorcentajeCPULibre)
	}
	if rec.ProcesosCorriendo+rec.ProcesosDurmiendo+rec.ProcesosZombie+rec.ProcesosParados != rec.TotalProcesos {
		t.Fatalf("states do not add up: %+v", rec)
	}
	return rec
}

func TestRecordFromModules(t *testing.T) {
	root := copyTree(t, "module")
	cfg := procConfig(root)
	srv, _ := startAgent(t, cfg, 0, func() {
		// +100 s of CPU time of which 12.345 s busy: 12.35 % (the window's, not since boot's 25 %).
		write(t, filepath.Join(root, "cpu_"+carnet),
			`{"cpus":2,"total_ns":300000000000,"busy_ns":62345000000,"idle_ns":227655000000,"iowait_ns":10000000000}`+"\n")
	})
	code, body := get(t, srv.URL+"/api/metrics")
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, body)
	}
	rec := validRecord(t, body)
	want := Record{TotalRAM: 7940, RAMLibre: 1935380480, UsoRAM: 5863, PorcentajeRAM: 73.84,
		PorcentajeCPUUso: 12.35, PorcentajeCPULibre: 87.65, ProcesosCorriendo: 3, TotalProcesos: 120,
		ProcesosDurmiendo: 110, ProcesosZombie: 4, ProcesosParados: 3, Hora: rec.Hora,
		Fuente: Fuente{CPU: "module", RAM: "module", Procesos: "module"}}
	if rec != want {
		t.Fatalf("record\n got %+v\nwant %+v", rec, want)
	}
}

func TestRecordFromProcfsWithZombieAndStopped(t *testing.T) {
	root := copyTree(t, "procfs")
	cfg := procConfig(root)
	srv, _ := startAgent(t, cfg, 0, func() {
		// +200 ticks, 50 busy (user +30, system +20), 150 idle: 25 %.
		stat, _ := os.ReadFile(filepath.Join(root, "stat"))
		write(t, filepath.Join(root, "stat"), strings.Replace(string(stat),
			"cpu  1000 20 300 8000 ", "cpu  1030 20 320 8150 ", 1))
	})
	code, body := get(t, srv.URL+"/api/metrics")
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, body)
	}
	rec := validRecord(t, body)
	if rec.PorcentajeCPUUso != 25 || rec.PorcentajeCPULibre != 75 || rec.ProcesosZombie != 2 || rec.ProcesosParados != 2 ||
		rec.TotalProcesos != 13 || rec.PorcentajeRAM != 73.85 || rec.Fuente != (Fuente{"procfs", "procfs", "procfs"}) {
		t.Fatalf("record %+v", rec)
	}
}

func TestMixedSourcesAndPerRequestReads(t *testing.T) {
	root := copyTree(t, "procfs")
	// Only the RAM module is loaded.
	write(t, filepath.Join(root, "ram_"+carnet),
		`{"total_ram":1000,"ram_libre":1048576,"uso_ram":250,"porcentaje_ram":25,"ram_disponible":786432000}`+"\n")
	cfg := procConfig(root)
	srv, _ := startAgent(t, cfg, 0, func() {
		stat, _ := os.ReadFile(filepath.Join(root, "stat"))
		write(t, filepath.Join(root, "stat"), strings.Replace(string(stat), "cpu  1000 ", "cpu  1100 ", 1))
	})
	rec := validRecord(t, mustGet(t, srv.URL+"/api/metrics"))
	if rec.Fuente != (Fuente{CPU: "procfs", RAM: "module", Procesos: "procfs"}) || rec.UsoRAM != 250 || rec.PorcentajeCPUUso != 100 {
		t.Fatalf("record %+v", rec)
	}
	// With no cache, the next request sees the file as it is now.
	write(t, filepath.Join(root, "ram_"+carnet),
		`{"total_ram":1000,"ram_libre":1048576,"uso_ram":500,"porcentaje_ram":50,"ram_disponible":524288000}`+"\n")
	if rec := validRecord(t, mustGet(t, srv.URL+"/api/metrics")); rec.UsoRAM != 500 {
		t.Fatalf("per-request read returned a stale value: %+v", rec)
	}
}

func TestSnapshotCacheSharesOneReading(t *testing.T) {
	root := copyTree(t, "module")
	r := NewSnapshotReader(procConfig(root), time.Hour)
	first := r.Read()
	writeRunningProcs(t, root, 1)
	if second := r.Read(); second.Procs != first.Procs || second.At != first.At {
		t.Fatalf("cached reading changed within its ttl: %+v vs %+v", second, first)
	}
	if fresh := NewSnapshotReader(procConfig(root), 0).Read(); fresh.Procs.Total != 1 {
		t.Fatalf("uncached read: %+v", fresh.Procs)
	}
}

func mustGet(t *testing.T, url string) []byte {
	t.Helper()
	code, body := get(t, url)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, code, body)
	}
	return body
}

func TestNotReadyBeforeFirstWindowAndWhenModulesRequired(t *testing.T) {
	// No advance: the CPU counters never move, so there is no window yet.
	srv, _ := startAgent(t, procConfig(copyTree(t, "module")), 0, nil)
	code, body := get(t, srv.URL+"/api/metrics")
	if code != http.StatusServiceUnavailable || !strings.Contains(string(body), "first sampling window") {
		t.Fatalf("want 503 before the first window, got %d %s", code, body)
	}

	root := copyTree(t, "procfs")
	cfg := collector.Config{ProcRoot: root, Carnet: carnet, RequireModules: true, Reads: collector.NewReads(testReadTimeout)}
	srv, _ = startAgent(t, cfg, 0, nil)
	code, body = get(t, srv.URL+"/readyz")
	var ready struct {
		Ready  bool
		Fuente map[string]struct{ Source, Error string }
	}
	if err := json.Unmarshal(body, &ready); err != nil || code != http.StatusServiceUnavailable || ready.Ready {
		t.Fatalf("readyz: %d %s (%v)", code, body, err)
	}
	for _, part := range []string{"cpu", "ram", "procesos"} {
		if st := ready.Fuente[part]; st.Source != "module" || !strings.Contains(st.Error, "AGENT_REQUIRE_MODULES") {
			t.Errorf("readyz %s: %+v", part, st)
		}
	}
	code, body = get(t, srv.URL+"/api/metrics")
	if code != http.StatusServiceUnavailable || !strings.Contains(string(body), `"error"`) {
		t.Fatalf("api/metrics without modules: %d %s", code, body)
	}
}

func TestMalformedModuleGivesJSON503(t *testing.T) {
	root := copyTree(t, filepath.Join("malformed", "module-truncated"))
	srv, _ := startAgent(t, procConfig(root), 0, nil)
	for _, path := range []string{"/api/metrics", "/readyz"} {
		code, body := get(t, srv.URL+path)
		if code != http.StatusServiceUnavailable || !json.Valid(body) || !strings.Contains(string(body), "not a JSON object") {
			t.Errorf("%s: %d %s", path, code, body)
		}
	}
	if code, body := get(t, srv.URL+"/healthz"); code != http.StatusOK {
		t.Errorf("healthz: %d %s", code, body)
	}
}

func TestReadyAndPrometheusMetrics(t *testing.T) {
	root := copyTree(t, "procfs")
	srv, _ := startAgent(t, procConfig(root), DefaultSnapshotTTL, func() {
		stat, _ := os.ReadFile(filepath.Join(root, "stat"))
		write(t, filepath.Join(root, "stat"), strings.Replace(string(stat), "cpu  1000 ", "cpu  1100 ", 1))
	})
	if code, body := get(t, srv.URL+"/readyz"); code != http.StatusOK || !strings.Contains(string(body), `"ready":true`) {
		t.Fatalf("readyz: %d %s", code, body)
	}
	// Concurrent requests share the cache safely (run under -race).
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code, body := get(t, srv.URL+"/api/metrics"); code != http.StatusOK {
				t.Errorf("%d %s", code, body)
			}
		}()
	}
	wg.Wait()
	get(t, srv.URL+"/nope")
	body := string(mustGet(t, srv.URL+"/metrics"))
	for _, line := range []string{
		`agent_ram_total_mib{source="procfs"} 7940`,
		`agent_ram_used_percent{source="procfs"} 73.85`,
		`agent_processes{source="procfs",state="zombie"} 2`,
		`agent_processes{source="procfs",state="stopped"} 2`,
		`agent_cpu_busy_percent{source="procfs"} 100`,
		`agent_source_up{part="procesos",source="procfs"} 1`,
		`agent_http_request_duration_seconds_count{method="GET",path="/api/metrics",status="200"} 20`,
		`agent_http_request_duration_seconds_count{method="GET",path="unmatched",status="404"} 1`,
	} {
		if !strings.Contains(body, line+"\n") {
			t.Errorf("/metrics lacks %q", line)
		}
	}
}

func TestParseConfig(t *testing.T) {
	env := map[string]string{"AGENT_ADDR": "127.0.0.1:9", "AGENT_CARNET": "201900001", "AGENT_PROC_ROOT": "/proc",
		"AGENT_REQUIRE_MODULES": "true", "AGENT_CPU_WINDOW": "250ms", "AGENT_PROC_READ_TIMEOUT": "750ms"}
	cfg, err := ParseConfig([]string{"-carnet", "202100002", "-snapshot-ttl", "0"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Addr: "127.0.0.1:9", Carnet: "202100002", ProcRoot: "/proc", RequireModules: true, CPUWindow: 250 * time.Millisecond,
		ReadTimeout: 750 * time.Millisecond}
	if cfg != want {
		t.Fatalf("got %+v want %+v", cfg, want)
	}
	if cfg.Collector().ModulePath("cpu") != "/proc/cpu_202100002" {
		t.Fatal(cfg.Collector().ModulePath("cpu"))
	}
	defaults, err := ParseConfig(nil, func(string) string { return "" })
	if err != nil || defaults.Addr != ":8080" || defaults.Carnet != "202000000" || defaults.CPUWindow != time.Second || defaults.SnapshotTTL != DefaultSnapshotTTL ||
		defaults.ReadTimeout != DefaultReadTimeout {
		t.Fatalf("defaults %+v %v", defaults, err)
	}
	for i, bad := range []map[string]string{
		{"AGENT_REQUIRE_MODULES": "maybe"}, {"AGENT_CPU_WINDOW": "soon"}, {"AGENT_CPU_WINDOW": "1ms"},
		{"AGENT_PROC_ROOT": "/does/not/exist"}, {"AGENT_SNAPSHOT_TTL": "-1s"},
	} {
		if _, err := ParseConfig(nil, func(k string) string { return bad[k] }); err == nil {
			t.Errorf("bad config %d accepted: %v", i, bad)
		}
	}
	// A bad read timeout stops the agent with a message naming the variable.
	for _, bad := range []string{"soon", "0", "-2s"} {
		_, err := ParseConfig(nil, func(k string) string { return map[string]string{"AGENT_PROC_READ_TIMEOUT": bad}[k] })
		if err == nil || !strings.Contains(err.Error(), "AGENT_PROC_READ_TIMEOUT") {
			t.Errorf("AGENT_PROC_READ_TIMEOUT=%s: want an error naming the variable, got %v", bad, err)
		}
	}
	if _, err := ParseConfig([]string{"-no-such-flag"}, func(string) string { return "" }); err == nil {
		t.Error("unknown flag accepted")
	}
	_ = fmt.Sprint(cfg) // String() must not panic on a full config
}

func TestSnapshotServesStaleWhileRefreshingButNeverTooOld(t *testing.T) {
	root := copyTree(t, "module")
	r := NewSnapshotReader(procConfig(root), time.Minute)
	first := r.Read()
	writeRunningProcs(t, root, 1)

	// Between ttl and 10*ttl: the old reading at once, and a background refresh.
	r.mu.Lock()
	r.last.At = time.Now().Add(-2 * time.Minute)
	r.mu.Unlock()
	if s := r.Read(); s.Procs != first.Procs {
		t.Fatalf("want the cached reading while refreshing, got %+v", s.Procs)
	}
	deadline := time.Now().Add(10 * time.Second)
	for r.Read().Procs.Total != 1 {
		if time.Now().After(deadline) {
			t.Fatal("background refresh never landed")
		}
		time.Sleep(5 * time.Millisecond)
	}

	// Older than 10*ttl: read synchronously.
	writeRunningProcs(t, root, 2)
	r.mu.Lock()
	r.last.At = time.Now().Add(-11 * time.Minute)
	r.mu.Unlock()
	if s := r.Read(); s.Procs.Total != 2 || time.Since(s.At) > time.Minute {
		t.Fatalf("too-old reading served: %+v", s)
	}
}

// A module file whose read blocks (a FIFO nobody writes to, as a stuck module's file
// would) makes /api/metrics answer 503 naming it: the requests that come while the read
// runs share it and get the 503 at its deadline, later ones at once, and no second read
// starts; the other parts, /healthz and /metrics keep answering.
func TestHungFileAnswers503AndDoesNotPileUpReads(t *testing.T) {
	root := copyTree(t, "procfs")
	ram := filepath.Join(root, "ram_"+carnet)
	mkfifo(t, ram)
	const timeout = time.Second
	cfg := collector.Config{ProcRoot: root, Carnet: carnet, Reads: collector.NewReads(timeout)}
	srv, _ := startAgent(t, cfg, 0, func() {
		stat, _ := os.ReadFile(filepath.Join(root, "stat"))
		write(t, filepath.Join(root, "stat"), strings.Replace(string(stat), "cpu  1000 ", "cpu  1100 ", 1))
	})
	hung503 := func() time.Duration {
		t.Helper()
		start := time.Now()
		code, body := get(t, srv.URL+"/api/metrics")
		var answer struct{ Error string }
		if err := json.Unmarshal(body, &answer); err != nil || code != http.StatusServiceUnavailable || !strings.Contains(answer.Error, ram) {
			t.Fatalf("want 503 {\"error\"} naming %s, got %d %s", ram, code, body)
		}
		return time.Since(start)
	}
	start := time.Now()
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() { hung503() })
	}
	wg.Wait()
	if took := time.Since(start); took < timeout {
		t.Fatalf("the read gave up after %s, before the %s timeout", took, timeout)
	}
	for range 5 {
		if took := hung503(); took >= timeout {
			t.Fatalf("a read of the stuck file waited %s: want the 503 at once", took)
		}
	}
	if code, _ := get(t, srv.URL+"/healthz"); code != http.StatusOK {
		t.Fatalf("healthz %d", code)
	}
	code, body := get(t, srv.URL+"/readyz")
	var ready struct {
		Fuente map[string]struct{ Source, Error string }
	}
	if err := json.Unmarshal(body, &ready); err != nil || code != http.StatusServiceUnavailable ||
		!strings.Contains(ready.Fuente["ram"].Error, ram) || ready.Fuente["cpu"].Error != "" || ready.Fuente["procesos"].Error != "" {
		t.Fatalf("readyz: want only ram failing, got %d %s", code, body)
	}
	metrics := string(mustGet(t, srv.URL+"/metrics"))
	for _, line := range []string{
		fmt.Sprintf(`agent_proc_read_timeouts_total{file=%q} 1`, ram), // one stuck read, however many requests
		`agent_proc_reads_in_flight 1`,
		`agent_source_up{part="procesos",source="procfs"} 1`,
	} {
		if !strings.Contains(metrics, line+"\n") {
			t.Errorf("/metrics lacks %q", line)
		}
	}

	// Once the stuck read returns, the file is read again.
	release(t, ram, `{"total_ram":1000,"ram_libre":1048576,"uso_ram":250,"porcentaje_ram":25,"ram_disponible":786432000}`+"\n")
	deadline := time.Now().Add(10 * time.Second)
	for cfg.Reads.InFlight() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the released read never returned")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if rec := validRecord(t, mustGet(t, srv.URL+"/api/metrics")); rec.UsoRAM != 250 || rec.Fuente.RAM != "module" {
		t.Fatalf("after release: %+v", rec)
	}
}

// Requests that come while a read runs share it: under concurrency no request is refused.
func TestConcurrentPerRequestReadsAllAnswer(t *testing.T) {
	root := copyTree(t, "procfs")
	srv, _ := startAgent(t, procConfig(root), 0, func() {
		stat, _ := os.ReadFile(filepath.Join(root, "stat"))
		write(t, filepath.Join(root, "stat"), strings.Replace(string(stat), "cpu  1000 ", "cpu  1100 ", 1))
	})
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			for range 10 {
				if code, body := get(t, srv.URL+"/api/metrics"); code != http.StatusOK {
					t.Errorf("%d %s", code, body)
					return
				}
			}
		})
	}
	wg.Wait()
}

// A process whose stat blocks stops the scan: the 503 names that process's file, the
// timeout is counted under the scan's label, and the CPU and RAM parts still answer.
func TestHungProcessStatNamesTheFile(t *testing.T) {
	root := copyTree(t, "procfs")
	if err := os.Mkdir(filepath.Join(root, "500"), 0o755); err != nil {
		t.Fatal(err)
	}
	hung := filepath.Join(root, "500", "stat")
	mkfifo(t, hung)
	srv, _ := startAgent(t, collector.Config{ProcRoot: root, Carnet: carnet, Reads: collector.NewReads(300 * time.Millisecond)}, 0, nil)
	for range 3 {
		code, body := get(t, srv.URL+"/readyz")
		var ready struct {
			Fuente map[string]struct{ Source, Error string }
		}
		if err := json.Unmarshal(body, &ready); err != nil || code != http.StatusServiceUnavailable ||
			!strings.Contains(ready.Fuente["procesos"].Error, hung) || ready.Fuente["ram"].Error != "" {
			t.Fatalf("readyz: want procesos failing on %s, got %d %s", hung, code, body)
		}
	}
	metrics := string(mustGet(t, srv.URL+"/metrics"))
	if line := fmt.Sprintf(`agent_proc_read_timeouts_total{file=%q} 1`, filepath.Join(root, "[pid]", "stat")); !strings.Contains(metrics, line+"\n") {
		t.Errorf("/metrics lacks %q", line)
	}
}

// mkfifo replaces path with a FIFO nobody writes to: opening it for reading blocks, as a
// read of a stuck /proc file does. Cleanup lets a read still blocked on it return.
func mkfifo(t *testing.T, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Fails with ENXIO when no read is blocked on it any more: nothing to release then.
		if fd, err := syscall.Open(path, syscall.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			syscall.Close(fd)
		}
	})
}

// release puts a regular file with content at path, in place of the FIFO there, and lets
// the read blocked on the FIFO return (it gets end of file).
func release(t *testing.T, path, content string) {
	t.Helper()
	fd, err := syscall.Open(path, syscall.O_WRONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatalf("no read blocked on %s: %v", path, err)
	}
	write(t, path, content)
	syscall.Close(fd)
}
