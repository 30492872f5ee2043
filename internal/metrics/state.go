package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// State answers the counts kept in PostgreSQL, the one source of truth; store.Stats
// implements it. Each call is one cheap query.
type State interface {
	// Batches counts the batches by state.
	Batches(ctx context.Context) (map[string]int64, error)
	// Days counts the days of unfinished batches by state.
	Days(ctx context.Context) (map[string]int64, error)
	// QueueDepth counts the days waiting for a worker.
	QueueDepth(ctx context.Context) (int64, error)
}

// StateTimeout bounds the queries of one scrape: a database that does not answer within
// it is reported down, and the scrape answers with the rest.
const StateTimeout = 3 * time.Second

// StateCollector exports State at scrape time. When PostgreSQL does not answer, the
// scrape still succeeds: marketsync_up says 0, the failure is counted, and the in-process
// metrics are there as always.
type StateCollector struct {
	state   State
	timeout time.Duration

	batches, days, queue, up *prometheus.Desc
	errors                   prometheus.Counter
}

// NewStateCollector returns a collector of state; register it with the app's registry.
func NewStateCollector(state State) *StateCollector {
	name := func(n string) string { return prometheus.BuildFQName(Namespace, "", n) }
	return &StateCollector{
		state:   state,
		timeout: StateTimeout,
		batches: prometheus.NewDesc(name("batches"), "Batches by state, read from PostgreSQL at scrape time.", []string{"status"}, nil),
		days: prometheus.NewDesc(name("days"),
			"Days (dataset, calendar day) of unfinished batches by state, read from PostgreSQL at scrape time.", []string{"status"}, nil),
		queue: prometheus.NewDesc(name("queue_days"),
			"Days waiting for a worker: pending days of queued and running batches, read from PostgreSQL at scrape time.", nil, nil),
		up: prometheus.NewDesc(name("up"),
			"1 when PostgreSQL answered this scrape's queries, 0 when it did not (the database's metrics are missing then).", nil, nil),
		errors: prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: "state_scrape_errors_total",
			Help: "Scrapes whose PostgreSQL queries failed."}),
	}
}

// Describe implements prometheus.Collector.
func (c *StateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.batches
	ch <- c.days
	ch <- c.queue
	ch <- c.up
	c.errors.Describe(ch)
}

// Collect implements prometheus.Collector: it asks PostgreSQL, within StateTimeout.
func (c *StateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	ok := c.collectCounts(ctx, ch, c.batches, c.state.Batches)
	ok = ok && c.collectCounts(ctx, ch, c.days, c.state.Days)
	if ok {
		n, err := c.state.QueueDepth(ctx)
		if ok = err == nil; ok {
			ch <- prometheus.MustNewConstMetric(c.queue, prometheus.GaugeValue, float64(n))
		}
	}
	up := 1.0
	if !ok {
		up = 0
		c.errors.Inc()
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up)
	c.errors.Collect(ch)
}

// collectCounts sends one gauge per status of what count answers; false when it failed.
func (c *StateCollector) collectCounts(ctx context.Context, ch chan<- prometheus.Metric, desc *prometheus.Desc,
	count func(context.Context) (map[string]int64, error)) bool {
	counts, err := count(ctx)
	if err != nil {
		return false
	}
	for status, n := range counts {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, float64(n), status)
	}
	return true
}
