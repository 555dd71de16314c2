package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Label names (fixed by the user documentation; dashboards and alerts use them).
const (
	LabelName      = "obj_name"
	LabelNamespace = "obj_namespace"
	LabelRole      = "role"
	LabelMethod    = "method"
)

// durationMaxAge is the window of the sync duration summary's quantiles.
const durationMaxAge = 24 * time.Hour

// Set is one registered copy of the metrics.
type Set struct {
	missed    *prometheus.CounterVec
	duration  *prometheus.SummaryVec
	outOfSync *prometheus.GaugeVec
	bytes     *prometheus.CounterVec
	files     *prometheus.CounterVec
}

var labels = []string{LabelName, LabelNamespace, LabelRole, LabelMethod}

// New creates the metrics and registers them with reg.
func New(reg prometheus.Registerer) *Set {
	s := &Set{
		missed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "volsync_missed_intervals_total",
			Help: "The number of times a synchronization failed to complete before the next scheduled start",
		}, labels),
		duration: prometheus.NewSummaryVec(prometheus.SummaryOpts{
			Name:       "volsync_sync_duration_seconds",
			Help:       "Duration of the synchronization interval in seconds",
			Objectives: map[float64]float64{0.5: 0.05, 0.9: 0.01, 0.99: 0.001},
			MaxAge:     durationMaxAge,
		}, labels),
		outOfSync: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "volsync_volume_out_of_sync",
			Help: "Set to 1 if the volume is not properly synchronized",
		}, labels),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "volsync_mover_bytes_transferred_total",
			Help: "Bytes the mover sent in completed synchronizations (as the mover reports them)",
		}, labels),
		files: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "volsync_mover_files_transferred_total",
			Help: "Files whose data the mover sent in completed synchronizations",
		}, labels),
	}
	reg.MustRegister(s.missed, s.duration, s.outOfSync, s.bytes, s.files)
	return s
}

var global *Set

// Global returns the metrics registered with controller-runtime's registry (served on the
// manager's metrics endpoint), creating them on first use.
func Global() *Set {
	if global == nil {
		global = New(crmetrics.Registry)
	}
	return global
}

// Object identifies the series of one object.
type Object struct {
	Name, Namespace, Role, Method string
}

func (o Object) labels() prometheus.Labels {
	return prometheus.Labels{LabelName: o.Name, LabelNamespace: o.Namespace, LabelRole: o.Role, LabelMethod: o.Method}
}

// MissedInterval counts one synchronization that did not finish before its deadline.
func (s *Set) MissedInterval(o Object) { s.missed.With(o.labels()).Inc() }

// ObserveDuration records the duration of a completed synchronization.
func (s *Set) ObserveDuration(o Object, d time.Duration) {
	s.duration.With(o.labels()).Observe(d.Seconds())
}

// AddTransfer counts what a completed synchronization moved.
func (s *Set) AddTransfer(o Object, bytes, files int64) {
	s.bytes.With(o.labels()).Add(float64(max(bytes, 0)))
	s.files.With(o.labels()).Add(float64(max(files, 0)))
}

// SetOutOfSync sets the out-of-sync gauge.
func (s *Set) SetOutOfSync(o Object, outOfSync bool) {
	v := 0.0
	if outOfSync {
		v = 1
	}
	s.outOfSync.With(o.labels()).Set(v)
}

// Forget removes every series of an object (it was deleted), so that dashboards do not show
// ghosts and the controller's memory does not grow with churn.
func (s *Set) Forget(o Object) {
	l := o.labels()
	s.missed.Delete(l)
	s.duration.Delete(l)
	s.outOfSync.Delete(l)
	s.bytes.Delete(l)
	s.files.Delete(l)
}
