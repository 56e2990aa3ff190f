package routecompare

import (
	"context"
	"errors"
	"fmt"
	"time"

	mysqldriver "github.com/go-sql-driver/mysql"
	"gorm.io/driver/mysql"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// DBConfig is the database to count rows in, from DB_HOST, DB_PORT, DB_USER, DB_PASSWORD, DB_NAME.
type DBConfig struct {
	Host, Port, User, Password, Name string
}

// DBConfigFromEnv reads the DB_* variables.
func DBConfigFromEnv(getenv func(string) string) (DBConfig, error) {
	c := DBConfig{Host: getenv("DB_HOST"), Port: getenv("DB_PORT"), User: getenv("DB_USER"),
		Password: getenv("DB_PASSWORD"), Name: getenv("DB_NAME")}
	if c.Port == "" {
		c.Port = "3306"
	}
	if c.Host == "" || c.User == "" || c.Name == "" {
		return c, errors.New("database: DB_HOST, DB_USER and DB_NAME are required")
	}
	return c, nil
}

// Open connects with gorm; the caller closes it with CloseDB.
func (c DBConfig) Open() (*gorm.DB, error) {
	dsn := mysqldriver.NewConfig()
	dsn.Net = "tcp"
	dsn.Addr = c.Host + ":" + c.Port
	dsn.User, dsn.Passwd, dsn.DBName = c.User, c.Password, c.Name
	dsn.ParseTime = true
	dsn.Loc = time.UTC
	dsn.Timeout = 5 * time.Second
	db, err := gorm.Open(mysql.Open(dsn.FormatDSN()), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		return nil, fmt.Errorf("database %s@%s/%s: %w", c.User, dsn.Addr, c.Name, err)
	}
	return db, nil
}

// CloseDB closes the pool under a gorm handle.
func CloseDB(db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// MetricRecord maps the columns of metric_records (route1-python/route1/models.py) that the report reads.
type MetricRecord struct {
	ID         uint64 `gorm:"primaryKey"`
	Route      string
	ReceivedAt time.Time
}

// TableName is the table route 1's migrations create.
func (MetricRecord) TableName() string { return "metric_records" }

// CountByRoute counts rows per route received at or after since (zero time: all rows).
func CountByRoute(ctx context.Context, db *gorm.DB, since time.Time) (map[string]DBCount, error) {
	var rows []struct {
		Route string
		Rows  int64
		First time.Time
		Last  time.Time
	}
	q := db.WithContext(ctx).Model(&MetricRecord{}).
		Select("route, COUNT(*) AS `rows`, MIN(received_at) AS first, MAX(received_at) AS last").
		Group("route")
	if !since.IsZero() {
		q = q.Where("received_at >= ?", since.UTC())
	}
	if err := q.Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("database: count per route: %w", err)
	}
	out := map[string]DBCount{}
	for _, r := range rows {
		out[r.Route] = DBCount{Rows: r.Rows, First: r.First, Last: r.Last}
	}
	return out, nil
}

// AttachDB sets each route's database count (zero rows where the route stored none).
func AttachDB(routes []RouteStats, counts map[string]DBCount) {
	for i := range routes {
		c := counts[routes[i].Route]
		routes[i].DB = &c
	}
}
