// Command agent serves the VM's CPU, RAM and process readings (see go-agent/README.md).
package main

import (
	"context"
	"errors"
	"log"
	"net"
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
	if err := serve(ctx, cfg, func(addr string) { log.Printf("agent: listening on %s", addr) }); err != nil {
		log.Fatalf("agent: %v", err)
	}
	log.Printf("agent: stopped")
}

// serve runs the agent until ctx ends, then shuts down gracefully: it stops accepting
// and lets requests in flight finish (10 s at most).
func serve(ctx context.Context, cfg agent.Config, listening func(addr string)) error {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	samplerCtx, stopSampler := context.WithCancel(context.Background())
	defer stopSampler()
	col := cfg.Collector()
	sampler := agent.NewCPUSampler(col, cfg.CPUWindow)
	sampled := sampler.Start(samplerCtx)
	srv := &http.Server{
		Handler:           agent.NewServer(sampler, agent.NewSnapshotReader(col, cfg.SnapshotTTL), col.Reads).Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	listening(ln.Addr().String())

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	stopSampler()
	<-sampled
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
