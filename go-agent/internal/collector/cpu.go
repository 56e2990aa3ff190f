package collector

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// CPUTimes are cumulative counters since boot, in nanoseconds, over all CPUs.
// Busy = Total - Idle - IOWait, the module's definition.
type CPUTimes struct {
	CPUs   uint64 `json:"cpus"`
	Total  uint64 `json:"total_ns"`
	Busy   uint64 `json:"busy_ns"`
	Idle   uint64 `json:"idle_ns"`
	IOWait uint64 `json:"iowait_ns"`
}

// userHZ is the unit of /proc/stat; the kernel fixes it at 100 for user space on every architecture.
const userHZ = 100

// ReadCPU reads the cumulative CPU counters and says which source served them.
func ReadCPU(c Config) (CPUTimes, string, error) {
	return readSource(c, "cpu", ParseCPUModule, procFile(c, "stat", ParseProcStat))
}

// ParseCPUModule parses the cpu module's JSON line.
func ParseCPUModule(path string, data []byte) (CPUTimes, error) {
	t, err := decodeModule[CPUTimes](path, data)
	if err != nil {
		return CPUTimes{}, err
	}
	if t.CPUs == 0 || t.Total == 0 || t.Busy+t.Idle+t.IOWait > t.Total {
		return CPUTimes{}, fmt.Errorf("%s: inconsistent counters %+v (need cpus>0, busy+idle+iowait <= total)", path, t)
	}
	return t, nil
}

// ParseProcStat parses the aggregate "cpu" line of /proc/stat and counts the cpuN lines.
// Not procfs's FS.Stat: it reads a cpu line with missing counters as zeros (the truncated
// fixture "cpu  1000 20 300" gives idle 0, i.e. 100 % busy), cannot tell a missing
// aggregate line from an all-zero one, and hands the ticks back as float seconds.
func ParseProcStat(path string, data []byte) (CPUTimes, error) {
	var t CPUTimes
	found := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || !strings.HasPrefix(fields[0], "cpu") {
			continue
		}
		if fields[0] != "cpu" {
			t.CPUs++
			continue
		}
		// user nice system idle iowait irq softirq steal [guest guest_nice]:
		// guest time is already inside user and nice, so it is not added again.
		if len(fields) < 9 {
			return CPUTimes{}, fmt.Errorf("%s: cpu line has %d fields, want at least 8 counters", path, len(fields)-1)
		}
		var v [8]uint64
		for i := range v {
			n, err := strconv.ParseUint(fields[i+1], 10, 64)
			if err != nil {
				return CPUTimes{}, fmt.Errorf("%s: cpu counter %d: %w", path, i+1, err)
			}
			v[i] = n * (1e9 / userHZ)
		}
		for _, n := range v {
			t.Total += n
		}
		t.Idle, t.IOWait = v[3], v[4]
		t.Busy = t.Total - t.Idle - t.IOWait
		found = true
	}
	if err := sc.Err(); err != nil {
		return CPUTimes{}, fmt.Errorf("%s: %w", path, err)
	}
	if !found {
		return CPUTimes{}, fmt.Errorf("%s: no aggregate cpu line", path)
	}
	if t.CPUs == 0 {
		return CPUTimes{}, fmt.Errorf("%s: no cpuN lines", path)
	}
	return t, nil
}

// BusyPercent returns the CPU busy share between two readings, clamped to 0..100.
// ok is false when the counters did not advance (no time passed, or a counter reset).
func BusyPercent(prev, cur CPUTimes) (pct float64, ok bool) {
	if cur.Total <= prev.Total || cur.Busy < prev.Busy {
		return 0, false
	}
	return clampPercent(float64(cur.Busy-prev.Busy) / float64(cur.Total-prev.Total) * 100), true
}

func clampPercent(v float64) float64 {
	switch {
	case v < 0:
		return 0
	case v > 100:
		return 100
	}
	return v
}
