package routecompare

import (
	"context"
	"math"
	"os"
	"testing"
	"time"
)

// TestCountByRouteOnMariaDB needs the private MariaDB, its table empty, that `make test`
// starts (scripts/with-test-mariadb.sh agent) and its DB_* variables.
func TestCountByRouteOnMariaDB(t *testing.T) {
	cfg, err := DBConfigFromEnv(os.Getenv)
	if err != nil {
		t.Fatalf("%v: run `make -C go-agent test`, which starts a private MariaDB", err)
	}
	db, err := cfg.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer CloseDB(db)
	ctx := context.Background()
	base := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	insert := func(route string, at time.Time) {
		t.Helper()
		err := db.Exec(`INSERT INTO metric_records (route, total_ram, ram_libre, uso_ram, porcentaje_ram,
			porcentaje_cpu_uso, porcentaje_cpu_libre, procesos_corriendo, total_procesos, procesos_durmiendo,
			procesos_zombie, procesos_parados, hora, received_at) VALUES (?, 7940, 1, 5863, 73.84, 10, 90, 1, 3, 1, 1, 0, ?, ?)`,
			route, at, at).Error
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 6; i++ { // python: one row per second, 0..5 s
		insert("python", base.Add(time.Duration(i)*time.Second))
	}
	for i := 0; i < 4; i++ { // node: one row every 2 s, 0..6 s
		insert("node", base.Add(time.Duration(i)*2*time.Second))
	}

	counts, err := CountByRoute(ctx, db, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	py, node := counts["python"], counts["node"]
	if py.Rows != 6 || node.Rows != 4 || !py.First.Equal(base) || !py.Last.Equal(base.Add(5*time.Second)) {
		t.Fatalf("counts %+v", counts)
	}
	stats := []RouteStats{{Route: "python"}, {Route: "node"}, {Route: "idle"}}
	AttachDB(stats, counts)
	if r := stats[0].RecordsPerSecond(); math.Abs(r-6.0/5) > 1e-9 {
		t.Errorf("python records/s from the database = %v, want 1.2", r)
	}
	if split := DBSplitPercents(stats); split[0] != 60 || split[1] != 40 || split[2] != 0 {
		t.Errorf("db split %v", split)
	}

	since, err := CountByRoute(ctx, db, base.Add(4*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if since["python"].Rows != 2 || since["node"].Rows != 2 {
		t.Errorf("since 4 s: %+v", since)
	}

	bad := cfg
	bad.Password = cfg.Password + "-wrong"
	if badDB, err := bad.Open(); err == nil {
		_, err = CountByRoute(ctx, badDB, time.Time{})
		CloseDB(badDB)
		if err == nil {
			t.Error("wrong password accepted")
		}
	}
}
