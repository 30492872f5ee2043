// Package metricstest reads metrics in tests, from a registry or from a /metrics answer,
// so that a test can say "this counter grew" without parsing text itself.
package metricstest

import (
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Scrape is one reading of the metrics: the families by name.
type Scrape map[string]*dto.MetricFamily

// Parse reads a /metrics answer in Prometheus' text format.
func Parse(tb testing.TB, text string) Scrape {
	tb.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		tb.Fatalf("metricstest: parsing the scrape: %v\n%s", err, text)
	}
	return fams
}

// Gather reads g.
func Gather(tb testing.TB, g prometheus.Gatherer) Scrape {
	tb.Helper()
	fams, err := g.Gather()
	if err != nil {
		tb.Fatalf("metricstest: gathering: %v", err)
	}
	s := make(Scrape, len(fams))
	for _, f := range fams {
		s[f.GetName()] = f
	}
	return s
}

// Has reports whether the metric name is present with labels (pairs of name, value).
func (s Scrape) Has(name string, labels ...string) bool {
	_, ok := s.value(name, labels)
	return ok
}

// Value is the sum over the series of name that carry labels (pairs of name, value): a
// counter's or gauge's value, a histogram's count of observations. 0 when none matches.
func (s Scrape) Value(name string, labels ...string) float64 {
	v, _ := s.value(name, labels)
	return v
}

func (s Scrape) value(name string, labels []string) (float64, bool) {
	f := s[name]
	if f == nil {
		return 0, false
	}
	sum, found := 0.0, false
	for _, m := range f.GetMetric() {
		if !matches(m, labels) {
			continue
		}
		found = true
		switch {
		case m.GetCounter() != nil:
			sum += m.GetCounter().GetValue()
		case m.GetGauge() != nil:
			sum += m.GetGauge().GetValue()
		case m.GetHistogram() != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		case m.GetUntyped() != nil:
			sum += m.GetUntyped().GetValue()
		}
	}
	return sum, found
}

func matches(m *dto.Metric, labels []string) bool {
	for i := 0; i+1 < len(labels); i += 2 {
		if !slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool {
			return l.GetName() == labels[i] && l.GetValue() == labels[i+1]
		}) {
			return false
		}
	}
	return true
}
