// Command agentbench compares the agent with Debian's prometheus-node-exporter
// (cpu, meminfo and processes collectors only) on loopback, both driven by the
// loadgen package in the same run, and prints the ratios agent/node_exporter.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"so1fase2/go-agent/internal/loadgen"
)

type target struct {
	name string
	url  string // what one "full snapshot" request fetches
	cmd  *exec.Cmd
}

type measurement struct {
	capacity       loadgen.Result
	cpuMsPerReq    float64
	hwmMiB, rssMiB float64
	latency        loadgen.Result
}

func main() {
	agentBin := flag.String("agent", "bin/agent", "agent binary")
	nodeExporter := flag.String("node-exporter", "/usr/bin/prometheus-node-exporter", "node_exporter binary")
	capUsers := flag.Int("capacity-users", 50, "users of the capacity run (no think time)")
	capDuration := flag.Duration("capacity-duration", 10*time.Second, "length of the capacity run")
	latUsers := flag.Int("latency-users", 300, "users of the latency run (think 1-2 s)")
	latDuration := flag.Duration("latency-duration", 30*time.Second, "length of the latency run")
	flag.Parse()
	log.SetFlags(0)

	targets := []*target{
		{name: "agent", url: "http://127.0.0.1:18181/api/metrics",
			cmd: command(*agentBin, []string{"AGENT_ADDR=127.0.0.1:18181"})},
		// The same agent reading RAM and processes on every request: shows what the cache buys.
		{name: "agent-nocache", url: "http://127.0.0.1:18182/api/metrics",
			cmd: command(*agentBin, []string{"AGENT_ADDR=127.0.0.1:18182", "AGENT_SNAPSHOT_TTL=0"})},
		// Port 19100, not 9100: the Debian package may run its own service on 9100.
		// --web.max-requests=0 lifts its default limit of 40 parallel scrapes, which
		// would otherwise answer 503 to part of the 50 and 300 users.
		{name: "node_exporter", url: "http://127.0.0.1:19100/metrics",
			cmd: command(*nodeExporter, nil, "--web.listen-address=127.0.0.1:19100",
				"--web.max-requests=0", "--collector.disable-defaults", "--collector.cpu", "--collector.meminfo", "--collector.processes")},
	}
	for _, t := range targets {
		if err := t.cmd.Start(); err != nil {
			log.Fatalf("start %s: %v", t.name, err)
		}
		defer stop(t)
	}
	for _, t := range targets {
		if err := waitOK(t.url, 15*time.Second); err != nil {
			log.Printf("%s not answering: %v", t.name, err)
			return
		}
	}

	results := map[string]measurement{}
	for _, t := range targets {
		m, err := measure(t, *capUsers, *capDuration, *latUsers, *latDuration)
		if err != nil {
			log.Printf("%s: %v", t.name, err)
			return
		}
		results[t.name] = m
	}
	report(targets, results, *capUsers, *latUsers)
}

func command(bin string, env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd
}

func stop(t *target) {
	if t.cmd.Process == nil {
		return
	}
	t.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { t.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.cmd.Process.Kill()
		<-done
	}
}

func waitOK(url string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func measure(t *target, capUsers int, capDuration time.Duration, latUsers int, latDuration time.Duration) (measurement, error) {
	var m measurement
	pid := t.cmd.Process.Pid
	// Warm-up: connections, caches, JIT-free but page faults and GC sizing.
	if _, err := loadgen.Run(context.Background(), loadgen.Config{URL: t.url, Method: "GET", Users: capUsers,
		Duration: time.Second, Timeout: 10 * time.Second}); err != nil {
		return m, err
	}
	before, err := cpuTicks(pid)
	if err != nil {
		return m, err
	}
	m.capacity, err = loadgen.Run(context.Background(), loadgen.Config{URL: t.url, Method: "GET", Users: capUsers,
		Duration: capDuration, Timeout: 10 * time.Second})
	if err != nil {
		return m, err
	}
	after, err := cpuTicks(pid)
	if err != nil {
		return m, err
	}
	if m.capacity.Requests > 0 {
		m.cpuMsPerReq = float64(after-before) * 10 / float64(m.capacity.Requests) // USER_HZ = 100
	}
	m.latency, err = loadgen.Run(context.Background(), loadgen.Config{URL: t.url, Method: "GET", Users: latUsers,
		SpawnRate: 100, ThinkMin: time.Second, ThinkMax: 2 * time.Second, Duration: latDuration, Timeout: 10 * time.Second})
	if err != nil {
		return m, err
	}
	m.hwmMiB, m.rssMiB, err = memory(pid)
	log.Printf("%s: capacity %.0f req/s, latency p99 %.2f ms", t.name, m.capacity.RPS, m.latency.P99Ms)
	for _, e := range append(m.capacity.ErrorSamples, m.latency.ErrorSamples...) {
		log.Printf("%s: error: %s", t.name, e)
	}
	return m, err
}

// cpuTicks returns utime+stime of pid, in USER_HZ ticks.
func cpuTicks(pid int) (uint64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name: state is field 3, utime 14, stime 15.
	rest := string(data[strings.LastIndexByte(string(data), ')')+2:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0, errors.New("short /proc/pid/stat")
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	return utime + stime, errors.Join(err1, err2)
}

// memory returns VmHWM (peak RSS) and VmRSS of pid, in MiB.
func memory(pid int) (hwm, rss float64, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmHWM:":
			hwm = kb / 1024
		case "VmRSS:":
			rss = kb / 1024
		}
	}
	return hwm, rss, nil
}

func report(targets []*target, r map[string]measurement, capUsers, latUsers int) {
	fmt.Printf("\n%-14s %10s %8s %12s %9s %9s | %8s %8s %8s %7s\n", "target", "cap req/s", "cap err",
		"cpu ms/req", "HWM MiB", "RSS MiB", "p50 ms", "p99 ms", "lat req", "lat err")
	for _, t := range targets {
		m := r[t.name]
		fmt.Printf("%-14s %10.0f %8d %12.3f %9.1f %9.1f | %8.2f %8.2f %8d %7d\n", t.name, m.capacity.RPS, m.capacity.Errors,
			m.cpuMsPerReq, m.hwmMiB, m.rssMiB, m.latency.P50Ms, m.latency.P99Ms, m.latency.Requests, m.latency.Errors)
	}
	fmt.Printf("(capacity: %d users, no think time; latency: %d users, think 1-2 s)\n", capUsers, latUsers)
	if load, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Printf("load average at the end (other work on this machine skews the tail): %s\n", strings.TrimSpace(string(load)))
	}
	a, ne := r["agent"], r["node_exporter"]
	ratio := func(x, y float64) float64 {
		if y == 0 {
			return 0
		}
		return x / y
	}
	fmt.Printf("ratio agent/node_exporter: req/s %.4gx, cpu ms/req %.4gx, peak RSS %.4gx, p50 %.4gx, p99 %.4gx\n",
		ratio(a.capacity.RPS, ne.capacity.RPS), ratio(a.cpuMsPerReq, ne.cpuMsPerReq), ratio(a.hwmMiB, ne.hwmMiB),
		ratio(a.latency.P50Ms, ne.latency.P50Ms), ratio(a.latency.P99Ms, ne.latency.P99Ms))
	nc := r["agent-nocache"]
	fmt.Printf("ratio agent/agent-nocache: req/s %.4gx, cpu ms/req %.4gx, p99 %.4gx\n",
		ratio(a.capacity.RPS, nc.capacity.RPS), ratio(a.cpuMsPerReq, nc.cpuMsPerReq), ratio(a.latency.P99Ms, nc.latency.P99Ms))
	goal := func(ok bool) string {
		if ok {
			return "met"
		}
		return "MISSED"
	}
	fmt.Printf("goals: >=3x req/s %s; p99 < 20 ms with no errors %s; RSS < 25 MiB %s\n",
		goal(ratio(a.capacity.RPS, ne.capacity.RPS) >= 3),
		goal(a.latency.P99Ms < 20 && a.latency.Errors == 0 && a.capacity.Errors == 0),
		goal(a.hwmMiB < 25))
}
