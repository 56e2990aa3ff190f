package collector

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const carnet = "202000000"

func tree(name string) Config {
	return Config{ProcRoot: filepath.Join("..", "..", "testdata", name), Carnet: carnet, Reads: NewReads(10 * time.Second)}
}

func TestModuleFilesWinOverProcfs(t *testing.T) {
	c := tree("module")
	cpu, src, err := ReadCPU(c)
	if err != nil || src != SourceModule {
		t.Fatalf("cpu: %v %s", err, src)
	}
	if cpu != (CPUTimes{CPUs: 2, Total: 200e9, Busy: 50e9, Idle: 140e9, IOWait: 10e9}) {
		t.Fatalf("cpu = %+v", cpu)
	}
	ram, src, err := ReadRAM(c)
	if err != nil || src != SourceModule {
		t.Fatalf("ram: %v %s", err, src)
	}
	if ram != (RAM{TotalMiB: 7940, FreeBytes: 1935380480, UsedMiB: 5863, UsedPercent: 73.84, AvailableBytes: 2177548288}) {
		t.Fatalf("ram = %+v", ram)
	}
	procs, src, err := ReadProcs(c)
	if err != nil || src != SourceModule {
		t.Fatalf("procs: %v %s", err, src)
	}
	if procs != (Procs{Running: 3, Total: 120, Sleeping: 110, Zombie: 4, Stopped: 3}) {
		t.Fatalf("procs = %+v", procs)
	}
}

func TestProcfsFallback(t *testing.T) {
	c := tree("procfs")
	cpu, src, err := ReadCPU(c)
	if err != nil || src != SourceProcfs {
		t.Fatalf("cpu: %v %s", err, src)
	}
	// total = user..steal (guest is inside user), busy = total - idle - iowait, ticks of 10 ms.
	if cpu != (CPUTimes{CPUs: 2, Total: 95e9, Busy: 14e9, Idle: 80e9, IOWait: 1e9}) {
		t.Fatalf("cpu = %+v", cpu)
	}
	ram, src, err := ReadRAM(c)
	if err != nil || src != SourceProcfs {
		t.Fatalf("ram: %v %s", err, src)
	}
	// used = MemTotal - MemAvailable = 6004560 kB = 5863.8 MiB; 73.847 % rounded.
	if ram != (RAM{TotalMiB: 7940, FreeBytes: 1890020 * 1024, UsedMiB: 5863, UsedPercent: 73.85, AvailableBytes: 2126512 * 1024}) {
		t.Fatalf("ram = %+v", ram)
	}
	procs, src, err := ReadProcs(c)
	if err != nil || src != SourceProcfs {
		t.Fatalf("procs: %v %s", err, src)
	}
	// S S S S (two with ") " in the name), I I, D sleeping; R R; Z Z; T t; "acpi" is no pid.
	if procs != (Procs{Running: 2, Total: 13, Sleeping: 7, Zombie: 2, Stopped: 2}) {
		t.Fatalf("procs = %+v", procs)
	}
}

func TestRequireModulesRefusesFallback(t *testing.T) {
	c := tree("procfs")
	c.RequireModules = true
	_, _, errCPU := ReadCPU(c)
	_, _, errRAM := ReadRAM(c)
	_, _, errProcs := ReadProcs(c)
	for name, err := range map[string]error{"cpu": errCPU, "ram": errRAM, "procesos": errProcs} {
		if !errors.Is(err, ErrModuleRequired) || !strings.Contains(err.Error(), name+"_"+carnet) {
			t.Errorf("%s: want ErrModuleRequired naming the file, got %v", name, err)
		}
	}
}

func TestBadFilesGiveClearErrors(t *testing.T) {
	cases := []struct {
		tree                   string
		cpuErr, ramErr, prcErr string // substrings of the expected errors
	}{
		{"module-empty", "empty file", "empty file", "empty file"},
		{"module-truncated", "not a JSON object", "not a JSON object", "not a JSON object"},
		{"module-wrongtype", "cannot unmarshal string", "cannot unmarshal number -1", "not a JSON object"},
		{"module-missing-field", `"iowait_ns" missing`, `"ram_disponible" missing`, `"procesos_parados" missing`},
		{"module-inconsistent", "inconsistent counters", "inconsistent figures", "states add up to 117"},
		{"module-unreadable", "is a directory", "is a directory", "is a directory"},
		{"procfs-empty", "no aggregate cpu line", "MemTotal missing", "malformed stat line"},
		// meminfo is parsed by procfs, which rejects a malformed line wherever it is and
		// names the bad value, not its key.
		{"procfs-truncated", "want at least 8 counters", `Malformed line "MemAvai"`, "malformed stat line"},
		{"procfs-garbage", "cpu counter 3", `parsing "lots"`, "malformed stat line"},
		{"procfs-unreadable", "is a directory", "is a directory", "is a directory"},
		{"procfs-badstate", "", "", "unknown process state '?'"},
	}
	for _, tc := range cases {
		t.Run(tc.tree, func(t *testing.T) {
			c := tree(filepath.Join("malformed", tc.tree))
			_, _, errCPU := ReadCPU(c)
			_, _, errRAM := ReadRAM(c)
			_, _, errProcs := ReadProcs(c)
			for _, chk := range []struct {
				name string
				err  error
				want string
			}{{"cpu", errCPU, tc.cpuErr}, {"ram", errRAM, tc.ramErr}, {"procesos", errProcs, tc.prcErr}} {
				if chk.want == "" {
					continue // this tree has no such file: the collector's error is not the point here
				}
				if chk.err == nil || !strings.Contains(chk.err.Error(), chk.want) {
					t.Errorf("%s: want error containing %q, got %v", chk.name, chk.want, chk.err)
					continue
				}
				// Every error names the file it came from.
				if !strings.Contains(chk.err.Error(), tc.tree) {
					t.Errorf("%s: error does not name the file: %v", chk.name, chk.err)
				}
			}
		})
	}
}

func TestBusyPercent(t *testing.T) {
	prev := CPUTimes{Total: 1000, Busy: 100}
	if p, ok := BusyPercent(prev, CPUTimes{Total: 2000, Busy: 350}); !ok || p != 25 {
		t.Fatalf("got %v %v, want 25", p, ok)
	}
	if _, ok := BusyPercent(prev, prev); ok {
		t.Fatal("no time passed: want ok=false")
	}
	if _, ok := BusyPercent(prev, CPUTimes{Total: 2000, Busy: 50}); ok {
		t.Fatal("busy went backwards: want ok=false")
	}
	if p, _ := BusyPercent(prev, CPUTimes{Total: 1100, Busy: 500}); p != 100 {
		t.Fatalf("want clamped to 100, got %v", p)
	}
}

func TestParseStatStateRejectsGarbage(t *testing.T) {
	for _, in := range []string{"", ")", "1 (a)", "1 (a)X", "1 (a) "} {
		if _, err := ParseStatState("x", []byte(in)); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

// The lines the real modules printed in their QEMU test parse as the module contract.
func TestRealModuleOutput(t *testing.T) {
	c := tree("module-qemu")
	cpu, _, errCPU := ReadCPU(c)
	ram, _, errRAM := ReadRAM(c)
	procs, _, errProcs := ReadProcs(c)
	if err := errors.Join(errCPU, errRAM, errProcs); err != nil {
		t.Fatal(err)
	}
	if cpu.CPUs != 2 || cpu.Busy != 4984000000 || ram.TotalMiB != 203 || ram.UsedPercent != 11.97 || procs.Zombie != 3 || procs.Stopped != 2 {
		t.Fatalf("%+v %+v %+v", cpu, ram, procs)
	}
}

// The procfs fallback of each part, on this machine's /proc and on the fixture tree, with
// the read deadline in place: run before and after a parser change to compare them.
func BenchmarkProcfsFallback(b *testing.B) {
	trees := []struct{ name, root string }{{"host", "/proc"}, {"fixture", tree("procfs").ProcRoot}}
	parts := []struct {
		name string
		read func(Config) (string, error)
	}{
		{"cpu", func(c Config) (string, error) { _, src, err := ReadCPU(c); return src, err }},
		{"ram", func(c Config) (string, error) { _, src, err := ReadRAM(c); return src, err }},
		{"procesos", func(c Config) (string, error) { _, src, err := ReadProcs(c); return src, err }},
	}
	for _, tr := range trees {
		c := Config{ProcRoot: tr.root, Carnet: carnet, Reads: NewReads(10 * time.Second)}
		for _, part := range parts {
			b.Run(tr.name+"/"+part.name, func(b *testing.B) {
				for b.Loop() {
					src, err := part.read(c)
					if err != nil {
						b.Fatal(err)
					}
					if src != SourceProcfs {
						b.Skipf("%s is served by its module here", part.name)
					}
				}
			})
		}
	}
}
