// Package collector reads the VM's CPU, RAM and process figures, one collector per
// source, each from the kernel module's file (/proc/<name>_<carnet>) or, when that
// file does not exist, from plain procfs (/proc/stat, /proc/meminfo, /proc/[pid]/stat).
package collector

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
)

// Source names, as shown in the record's "fuente" and at /readyz.
const (
	SourceModule = "module"
	SourceProcfs = "procfs"
)

// ErrModuleRequired is returned when a module file is missing and fallback is off.
var ErrModuleRequired = errors.New("module file missing and AGENT_REQUIRE_MODULES=true")

// Config locates the files every collector reads.
type Config struct {
	ProcRoot       string // "/proc", or "/host/proc" in a container
	Carnet         string
	RequireModules bool
}

// ModulePath returns the path of the module file for name ("cpu", "ram", "procesos").
func (c Config) ModulePath(name string) string {
	return filepath.Join(c.ProcRoot, name+"_"+c.Carnet)
}

// readModuleOrFallback reads the module file of name; it reports missing=true when the
// file does not exist (and fallback is allowed), so the caller uses procfs instead.
func (c Config) readModuleOrFallback(name string) (data []byte, missing bool, err error) {
	path := c.ModulePath(name)
	data, err = os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if c.RequireModules {
			return nil, false, fmt.Errorf("%s: %w", path, ErrModuleRequired)
		}
		return nil, true, nil
	}
	if err != nil {
		return nil, false, err // the error already names the path
	}
	return data, false, nil
}

// decodeModuleJSON decodes one module line into v, rejecting empty or truncated
// files, unknown shapes, and missing fields (every field must be present).
func decodeModuleJSON(path string, data []byte, v any, fields []string) error {
	if len(data) == 0 {
		return fmt.Errorf("%s: empty file", path)
	}
	var present map[string]json.RawMessage
	if err := json.Unmarshal(data, &present); err != nil {
		return fmt.Errorf("%s: not a JSON object: %w", path, err)
	}
	for _, f := range fields {
		if _, ok := present[f]; !ok {
			return fmt.Errorf("%s: field %q missing", path, f)
		}
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// round2 rounds to 2 decimals, the precision of the record's percentages.
func round2(v float64) float64 { return math.Round(v*100) / 100 }
