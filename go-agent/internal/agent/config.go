package agent

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"

	"so1fase2/go-agent/internal/collector"
)

// Config is the agent's whole configuration; env vars give the defaults, flags win.
type Config struct {
	Addr           string
	Carnet         string
	ProcRoot       string
	RequireModules bool
	CPUWindow      time.Duration
	SnapshotTTL    time.Duration
	ReadTimeout    time.Duration
}

// DefaultSnapshotTTL keeps RAM and process readings for this long; see README "Per-request reads".
const DefaultSnapshotTTL = 100 * time.Millisecond

// DefaultReadTimeout bounds one read of a proc file (or one process scan).
const DefaultReadTimeout = 2 * time.Second

// Collector returns the collectors' part of the configuration, with reads of its own
// (one-read-in-flight per file and the timeout counters): call it once per agent.
func (c Config) Collector() collector.Config {
	return collector.Config{ProcRoot: c.ProcRoot, Carnet: c.Carnet, RequireModules: c.RequireModules,
		Reads: collector.NewReads(c.ReadTimeout)}
}

func (c Config) String() string {
	return fmt.Sprintf("addr=%s carnet=%s proc_root=%s require_modules=%t cpu_window=%s snapshot_ttl=%s proc_read_timeout=%s",
		c.Addr, c.Carnet, c.ProcRoot, c.RequireModules, c.CPUWindow, c.SnapshotTTL, c.ReadTimeout)
}

// ParseConfig reads env (getenv) then flags (args, without the program name).
func ParseConfig(args []string, getenv func(string) string) (Config, error) {
	env := func(key, def string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return def
	}
	var errs []error
	envBool := func(key string) bool {
		v, err := strconv.ParseBool(env(key, "false"))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
		}
		return v
	}
	envDuration := func(key string, def time.Duration) time.Duration {
		v, err := time.ParseDuration(env(key, def.String()))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
		}
		return v
	}
	c := Config{
		Addr:           env("AGENT_ADDR", ":8080"),
		Carnet:         env("AGENT_CARNET", "202000000"),
		ProcRoot:       env("AGENT_PROC_ROOT", "/proc"),
		RequireModules: envBool("AGENT_REQUIRE_MODULES"),
		CPUWindow:      envDuration("AGENT_CPU_WINDOW", time.Second),
		SnapshotTTL:    envDuration("AGENT_SNAPSHOT_TTL", DefaultSnapshotTTL),
		ReadTimeout:    envDuration("AGENT_PROC_READ_TIMEOUT", DefaultReadTimeout),
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, err
	}
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	fs.StringVar(&c.Addr, "addr", c.Addr, "listen address (AGENT_ADDR)")
	fs.StringVar(&c.Carnet, "carnet", c.Carnet, "carnet in the module file names (AGENT_CARNET)")
	fs.StringVar(&c.ProcRoot, "proc-root", c.ProcRoot, "procfs mount to read (AGENT_PROC_ROOT)")
	fs.BoolVar(&c.RequireModules, "require-modules", c.RequireModules, "no procfs fallback (AGENT_REQUIRE_MODULES)")
	fs.DurationVar(&c.CPUWindow, "cpu-window", c.CPUWindow, "CPU sampling window (AGENT_CPU_WINDOW)")
	fs.DurationVar(&c.SnapshotTTL, "snapshot-ttl", c.SnapshotTTL, "RAM/process reading cache, 0 = read per request (AGENT_SNAPSHOT_TTL)")
	fs.DurationVar(&c.ReadTimeout, "proc-read-timeout", c.ReadTimeout, "deadline of one proc file read (AGENT_PROC_READ_TIMEOUT)")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	switch {
	case c.CPUWindow < 10*time.Millisecond:
		return Config{}, fmt.Errorf("cpu window %s too short (min 10ms)", c.CPUWindow)
	case c.SnapshotTTL < 0:
		return Config{}, fmt.Errorf("snapshot ttl %s negative", c.SnapshotTTL)
	case c.ReadTimeout <= 0:
		return Config{}, fmt.Errorf("AGENT_PROC_READ_TIMEOUT (-proc-read-timeout) %s: must be positive", c.ReadTimeout)
	case c.Carnet == "":
		return Config{}, errors.New("carnet is empty")
	}
	if _, err := os.Stat(c.ProcRoot); err != nil {
		return Config{}, fmt.Errorf("proc root: %w", err)
	}
	return c, nil
}
