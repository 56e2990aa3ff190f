package collector

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// RAM is the module's RAM reading, in the record's units.
type RAM struct {
	TotalMiB       uint64  `json:"total_ram"`
	FreeBytes      uint64  `json:"ram_libre"`
	UsedMiB        uint64  `json:"uso_ram"`
	UsedPercent    float64 `json:"porcentaje_ram"`
	AvailableBytes uint64  `json:"ram_disponible"`
}

// ReadRAM reads the RAM figures and says which source served them.
func ReadRAM(c Config) (RAM, string, error) {
	return readSource(c, "ram", ParseRAMModule, procFile(c, "meminfo", ParseMeminfo))
}

// ParseRAMModule parses the ram module's JSON line.
func ParseRAMModule(path string, data []byte) (RAM, error) {
	r, err := decodeModule[RAM](path, data)
	if err != nil {
		return RAM{}, err
	}
	if r.TotalMiB == 0 || r.UsedMiB > r.TotalMiB {
		return RAM{}, fmt.Errorf("%s: inconsistent figures (total_ram %d MiB, uso_ram %d MiB)", path, r.TotalMiB, r.UsedMiB)
	}
	r.UsedPercent = round2(clampPercent(r.UsedPercent))
	return r, nil
}

// ParseMeminfo derives the module's figures from /proc/meminfo:
// used = MemTotal - MemAvailable (page cache is not used memory), free = MemFree.
func ParseMeminfo(path string, data []byte) (RAM, error) {
	want := map[string]uint64{"MemTotal": 0, "MemFree": 0, "MemAvailable": 0}
	found := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		key, rest, ok := strings.Cut(sc.Text(), ":")
		if _, wanted := want[key]; !ok || !wanted {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) != 2 || fields[1] != "kB" {
			return RAM{}, fmt.Errorf("%s: %s: want \"<n> kB\", got %q", path, key, strings.TrimSpace(rest))
		}
		kb, err := strconv.ParseUint(fields[0], 10, 64)
		if err != nil {
			return RAM{}, fmt.Errorf("%s: %s: %w", path, key, err)
		}
		want[key] = kb * 1024
		found[key] = true
	}
	if err := sc.Err(); err != nil {
		return RAM{}, fmt.Errorf("%s: %w", path, err)
	}
	for _, key := range []string{"MemTotal", "MemFree", "MemAvailable"} {
		if !found[key] {
			return RAM{}, fmt.Errorf("%s: %s missing", path, key)
		}
	}
	total, avail := want["MemTotal"], want["MemAvailable"]
	if total == 0 {
		return RAM{}, fmt.Errorf("%s: MemTotal is 0", path)
	}
	if avail > total {
		return RAM{}, fmt.Errorf("%s: MemAvailable %d > MemTotal %d", path, avail, total)
	}
	const mib = 1 << 20
	r := RAM{
		TotalMiB:       total / mib,
		FreeBytes:      want["MemFree"],
		UsedMiB:        (total - avail) / mib,
		AvailableBytes: avail,
	}
	r.UsedPercent = round2(clampPercent(float64(total-avail) / float64(total) * 100))
	return r, nil
}
