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
	"reflect"
	"sync/atomic"
)

// Source names, as shown in the record's "fuente" and at /readyz.
const (
	SourceModule = "module"
	SourceProcfs = "procfs"
)

// ErrModuleRequired is returned when a module file is missing and fallback is off.
var ErrModuleRequired = errors.New("module file missing and AGENT_REQUIRE_MODULES=true")

// Config locates the files every collector reads and holds the deadline of every read.
type Config struct {
	ProcRoot       string // "/proc", or "/host/proc" in a container
	Carnet         string
	RequireModules bool
	Reads          *Reads // shared by every collector of one agent
}

// ModulePath returns the path of the module file for name ("cpu", "ram", "procesos").
func (c Config) ModulePath(name string) string {
	return filepath.Join(c.ProcRoot, name+"_"+c.Carnet)
}

// readSource parses the module file of name or, when it does not exist and the
// fallback is allowed, returns what fallback reads from plain procfs; it says
// which source served the figures.
func readSource[T any](c Config, name string, parseModule func(path string, data []byte) (T, error),
	fallback func() (T, error)) (T, string, error) {
	var zero T
	path := c.ModulePath(name)
	data, err := c.readFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && c.RequireModules:
		return zero, SourceModule, fmt.Errorf("%s: %w", path, ErrModuleRequired)
	case errors.Is(err, fs.ErrNotExist):
		v, err := fallback()
		return v, SourceProcfs, err
	case err != nil:
		return zero, SourceModule, err // the error already names the path
	}
	v, err := parseModule(path, data)
	return v, SourceModule, err
}

// procFile returns a fallback that reads and parses one file under the proc root.
func procFile[T any](c Config, name string, parse func(path string, data []byte) (T, error)) func() (T, error) {
	return func() (T, error) {
		path := filepath.Join(c.ProcRoot, name)
		data, err := c.readFile(path)
		if err != nil {
			var zero T
			return zero, err
		}
		return parse(path, data)
	}
}

// readFile reads one whole file under the read deadline.
func (c Config) readFile(path string) ([]byte, error) {
	return guardedRead(c.Reads, path, func(*atomic.Pointer[string]) ([]byte, error) { return os.ReadFile(path) })
}

// decodeModule decodes one module line into a T, rejecting empty or truncated files,
// unknown shapes, and missing fields: every json-tagged field of T must be present.
func decodeModule[T any](path string, data []byte) (T, error) {
	var v T
	if len(data) == 0 {
		return v, fmt.Errorf("%s: empty file", path)
	}
	var present map[string]json.RawMessage
	if err := json.Unmarshal(data, &present); err != nil {
		return v, fmt.Errorf("%s: not a JSON object: %w", path, err)
	}
	t := reflect.TypeFor[T]()
	for i := range t.NumField() {
		f := t.Field(i).Tag.Get("json")
		if _, ok := present[f]; !ok {
			return v, fmt.Errorf("%s: field %q missing", path, f)
		}
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return v, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// round2 rounds to 2 decimals, the precision of the record's percentages.
func round2(v float64) float64 { return math.Round(v*100) / 100 }
