// Command agent serves the VM's CPU, RAM and process readings (see go-agent/README.md).
package main

import (
	"context"
	"errors"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"so1fase2/go-agent/internal/agent"
)

func main() {
	log.SetFlags(log.LstdFlags | log.LUTC)
	cfg, err := agent.ParseConfig(os.Args[1:], os.Getenv)
	if err != nil {
		log.Fatalf("agent: config: %v", err)
	}
	log.Printf("agent: config %s", cfg)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	sampler := agent.NewCPUSampler(cfg.Collector(), cfg.CPUWindow)
	sampler.Start(ctx)
	srv := &http.Server{
		Addr:              cfg.Addr,
		Handler:           agent.NewServer(sampler, agent.NewSnapshotReader(cfg.Collector(), cfg.SnapshotTTL)).Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Printf("agent: listening on %s", cfg.Addr)

	select {
	case err := <-errc:
		log.Fatalf("agent: %v", err)
	case <-ctx.Done():
	}
	log.Printf("agent: shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatalf("agent: shutdown: %v", err)
	}
	log.Printf("agent: stopped")
}
