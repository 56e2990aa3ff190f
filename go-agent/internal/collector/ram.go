package collector

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"

	"github.com/prometheus/procfs"
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
	return readSource(c, "ram", ParseRAMModule, func() (RAM, error) { return readMeminfo(c) })
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

// readMeminfo derives the module's figures from /proc/meminfo, as parsed by procfs:
// used = MemTotal - MemAvailable (page cache is not used memory), free = MemFree.
func readMeminfo(c Config) (RAM, error) {
	path := filepath.Join(c.ProcRoot, "meminfo")
	m, err := guardedRead(c.Reads, path, func(*atomic.Pointer[string]) (procfs.Meminfo, error) {
		fs, err := procfs.NewFS(c.ProcRoot)
		if err != nil {
			return procfs.Meminfo{}, err
		}
		return fs.Meminfo()
	})
	switch {
	case errors.Is(err, procfs.ErrFileParse):
		return RAM{}, fmt.Errorf("%s: %w", path, err) // procfs's parse errors do not name the file
	case err != nil:
		return RAM{}, err // open, read or timeout: names the file already
	}
	for _, field := range []struct {
		key   string
		bytes *uint64
	}{{"MemTotal", m.MemTotalBytes}, {"MemFree", m.MemFreeBytes}, {"MemAvailable", m.MemAvailableBytes}} {
		if field.bytes == nil {
			return RAM{}, fmt.Errorf("%s: %s missing", path, field.key)
		}
	}
	total, avail := *m.MemTotalBytes, *m.MemAvailableBytes
	if total == 0 {
		return RAM{}, fmt.Errorf("%s: MemTotal is 0", path)
	}
	if avail > total {
		return RAM{}, fmt.Errorf("%s: MemAvailable %d > MemTotal %d", path, avail, total)
	}
	const mib = 1 << 20
	r := RAM{
		TotalMiB:       total / mib,
		FreeBytes:      *m.MemFreeBytes,
		UsedMiB:        (total - avail) / mib,
		AvailableBytes: avail,
	}
	r.UsedPercent = round2(clampPercent(float64(total-avail) / float64(total) * 100))
	return r, nil
}
