package main

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"so1fase2/go-agent/internal/agent"
)

// The whole service on a real socket: it answers, then shuts down cleanly when its
// context ends (what SIGTERM does in main).
func TestServeAnswersAndShutsDownGracefully(t *testing.T) {
	cfg, err := agent.ParseConfig([]string{"-addr", "127.0.0.1:0", "-proc-root", filepath.Join("..", "..", "testdata", "procfs")},
		func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, func(a string) { addrc <- a }) }()
	addr := <-addrc

	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// The fake tree's counters never move: not ready, and it says why.
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "first sampling window") {
		t.Fatalf("readyz %d %s", resp.StatusCode, body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("shutdown: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("did not shut down")
	}
	if _, err := http.Get("http://" + addr + "/healthz"); err == nil {
		t.Fatal("still listening after shutdown")
	}
	if err := serve(context.Background(), agent.Config{Addr: "256.0.0.1:1"}, func(string) {}); err == nil {
		t.Fatal("bad listen address accepted")
	}
}
