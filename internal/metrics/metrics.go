// Package metrics holds marketsync's Prometheus metrics: the handles the engine, the live
// hub and the sources record into (a *Metrics, whose nil value records nothing, so every
// caller may leave it out), and a collector that reads the batches, days and queue from
// PostgreSQL at scrape time. The app builds one registry of its own and passes the
// handles down; nothing here is global, so tests in one process never collide.
package metrics

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Namespace prefixes every metric of marketsync.
const Namespace = "marketsync"

// Buckets of the histograms, in seconds.
var (
	// DayBuckets span a day's work: 10 ms (a day skipped, a small demo day) to 10 min
	// (a rate-limited day of a slow upstream).
	DayBuckets = []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}
	// CallBuckets span one upstream call: 5 ms (a local fake) to 1 min (a long Baostock
	// range).
	CallBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}
	// PushBuckets span a live push: 1 ms to 10 s.
	PushBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
)

// Metrics are the handles the engine, the hub and the sources record into. A nil
// *Metrics records nothing: every method is safe to call on it. Build it with New.
type Metrics struct {
	rowsLoaded      *prometheus.CounterVec
	dayDuration     *prometheus.HistogramVec
	upstreamCalls   *prometheus.CounterVec
	upstreamErrors  *prometheus.CounterVec
	upstreamLatency *prometheus.HistogramVec
	rateWaits       *prometheus.CounterVec
	rateWaitSeconds *prometheus.CounterVec
	wsClients       prometheus.Gauge
	pushLatency     prometheus.Histogram
}

// New builds the handles and registers them with reg (the app's own registry).
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		rowsLoaded: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "rows_loaded_total",
			Help: "Rows loaded into the warehouse by this process, by dataset and source."}, []string{"dataset", "source"}),
		dayDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: "day_duration_seconds",
			Help:    "Time one attempt at a (dataset, day) took in this process, fetch and load, by dataset, source and how it ended (succeeded, skipped, failed).",
			Buckets: DayBuckets}, []string{"dataset", "source", "status"}),
		upstreamCalls: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "upstream_calls_total",
			Help: "Calls made to an upstream, by source and api (Tushare's api_name, Baostock's method)."}, []string{"source", "api"}),
		upstreamErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "upstream_errors_total",
			Help: "Upstream calls that failed (transport, refusal, malformed answer; not cancellations), by source and api."}, []string{"source", "api"}),
		upstreamLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: "upstream_call_duration_seconds",
			Help: "Time of one upstream call, answer read, by source and api.", Buckets: CallBuckets}, []string{"source", "api"}),
		rateWaits: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "ratelimit_waits_total",
			Help: "Calls that waited for the rate limit (a later slot, or a per-minute refusal waited out), by source and api."}, []string{"source", "api"}),
		rateWaitSeconds: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "ratelimit_wait_seconds_total",
			Help: "Time spent waiting for the rate limit, by source and api."}, []string{"source", "api"}),
		wsClients: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: "websocket_clients",
			Help: "WebSocket clients this process's live hub feeds now."}),
		pushLatency: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Name: "push_latency_seconds",
			Help:    "Time from a change heard by the live hub to its bytes written to a WebSocket client (coalescing included).",
			Buckets: PushBuckets}),
	}
	reg.MustRegister(m.rowsLoaded, m.dayDuration, m.upstreamCalls, m.upstreamErrors, m.upstreamLatency,
		m.rateWaits, m.rateWaitSeconds, m.wsClients, m.pushLatency)
	return m
}

// DayDone records one attempt at a day: how it ended (succeeded, skipped, failed), the
// rows it loaded and how long it took.
func (m *Metrics) DayDone(dataset, source, status string, rows int64, took time.Duration) {
	if m == nil {
		return
	}
	m.dayDuration.WithLabelValues(dataset, source, status).Observe(took.Seconds())
	if rows > 0 || status == "succeeded" {
		m.rowsLoaded.WithLabelValues(dataset, source).Add(float64(rows))
	}
}

// UpstreamCall records one call of api on source that took took and ended with err.
// A cancelled call (the caller's context) is counted but not as an error.
func (m *Metrics) UpstreamCall(source, api string, took time.Duration, err error) {
	if m == nil {
		return
	}
	m.upstreamCalls.WithLabelValues(source, api).Inc()
	m.upstreamLatency.WithLabelValues(source, api).Observe(took.Seconds())
	if err != nil && !errors.Is(err, context.Canceled) {
		m.upstreamErrors.WithLabelValues(source, api).Inc()
	}
}

// RateLimitWait records a call of api on source that waited for its rate limit; a wait
// of zero records nothing.
func (m *Metrics) RateLimitWait(source, api string, waited time.Duration) {
	if m == nil || waited <= 0 {
		return
	}
	m.rateWaits.WithLabelValues(source, api).Inc()
	m.rateWaitSeconds.WithLabelValues(source, api).Add(waited.Seconds())
}

// ClientJoined counts a WebSocket client more; ClientLeft one less.
func (m *Metrics) ClientJoined() {
	if m != nil {
		m.wsClients.Inc()
	}
}

// ClientLeft counts a WebSocket client less.
func (m *Metrics) ClientLeft() {
	if m != nil {
		m.wsClients.Dec()
	}
}

// Pushed records a push written to a client latency after the change it carries was
// heard.
func (m *Metrics) Pushed(latency time.Duration) {
	if m != nil {
		m.pushLatency.Observe(max(latency, 0).Seconds())
	}
}
