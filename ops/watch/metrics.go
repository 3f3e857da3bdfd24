package watch

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
)

// Metric names, as /metrics serves them. They are stable: the README lists them.
const (
	MetricPubs          = "buttctl_watch_pubs"
	MetricHubUp         = "buttctl_watch_hub_up"
	MetricActions       = "buttctl_watch_actions_total"
	MetricReconnects    = "buttctl_watch_event_stream_reconnects_total"
	MetricEvents        = "buttctl_watch_events_total"
	MetricHealLatency   = "buttctl_watch_heal_latency_seconds"
	MetricReconciles    = "buttctl_watch_reconciles_total"
	MetricLastReconcile = "buttctl_watch_last_reconcile_timestamp_seconds"
)

// Metrics are watch's Prometheus metrics, in a registry of their own (with
// the Go runtime's and the process's).
type Metrics struct {
	reg         *prometheus.Registry
	actions     *prometheus.CounterVec
	reconnects  *prometheus.CounterVec
	events      *prometheus.CounterVec
	healLatency prometheus.Histogram
	reconciles  prometheus.Counter
	last        prometheus.Gauge
}

// NewMetrics returns watch's metrics; a Watcher given them adds its gauges
// of pubs by phase and hubs up.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricActions, Help: "Actions watch took, by action and result.",
		}, []string{"action", "result"}),
		reconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricReconnects, Help: "Times a hub's Docker event stream was connected again after it dropped.",
		}, []string{"hub"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricEvents, Help: "Docker events of buttctl's containers received, by action.",
		}, []string{"action"}),
		healLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    MetricHealLatency,
			Help:    "Seconds from watch learning a pub needed healing to the pub running again.",
			Buckets: []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300},
		}),
		reconciles: prometheus.NewCounter(prometheus.CounterOpts{
			Name: MetricReconciles, Help: "Full reconciles run.",
		}),
		last: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: MetricLastReconcile, Help: "When the last full reconcile ended (Unix seconds).",
		}),
	}
	m.reg.MustRegister(m.actions, m.reconnects, m.events, m.healLatency, m.reconciles, m.last,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Gather returns the metrics as Prometheus gathers them (for tests and --once).
func (m *Metrics) Gather() ([]*dto.MetricFamily, error) { return m.reg.Gather() }

func (m *Metrics) action(action, result string) {
	if m != nil {
		m.actions.WithLabelValues(action, result).Inc()
	}
}

func (m *Metrics) reconnect(hub string) {
	if m != nil {
		m.reconnects.WithLabelValues(hub).Inc()
	}
}

func (m *Metrics) event(action string) {
	if m != nil {
		m.events.WithLabelValues(action).Inc()
	}
}

func (m *Metrics) healed(seconds float64) {
	if m != nil {
		m.healLatency.Observe(seconds)
	}
}

func (m *Metrics) reconciled(unix float64) {
	if m != nil {
		m.reconciles.Inc()
		m.last.Set(unix)
	}
}

// stateCollector reports the watcher's pubs by phase and its hubs up, read
// at each scrape.
type stateCollector struct {
	w     *Watcher
	pubs  *prometheus.Desc
	hubUp *prometheus.Desc
}

func newStateCollector(w *Watcher) *stateCollector {
	return &stateCollector{
		w:     w,
		pubs:  prometheus.NewDesc(MetricPubs, "Pubs by the phase watch sees them in.", []string{"phase"}, nil),
		hubUp: prometheus.NewDesc(MetricHubUp, "1 when the hub's Docker event stream is connected, 0 when not.", []string{"hub"}, nil),
	}
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.pubs
	ch <- c.hubUp
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.w.State()
	counts := map[string]int{}
	for _, p := range AllPhases {
		counts[p] = 0
	}
	for _, p := range st.Pubs {
		counts[p.Phase]++
	}
	for phase, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.pubs, prometheus.GaugeValue, float64(n), phase)
	}
	for _, h := range st.Hubs {
		up := 0.0
		if h.Connected {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(c.hubUp, prometheus.GaugeValue, up, h.Name)
	}
}
