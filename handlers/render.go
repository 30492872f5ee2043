package handlers

import (
	"bytes"
	"context"
	"time"

	"github.com/marketsync/marketsync/internal/live"
	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/views"
)

// Fragments renders the hub's live updates with the views package; main passes it as
// live.HubConfig.Renderer. Zone is where the fragments show times (nil: Asia/Shanghai);
// Now is the clock (nil: time.Now).
type Fragments struct {
	Zone *time.Location
	Now  func() time.Time
}

var _ live.Renderer = Fragments{}

// RenderBatch renders views.BatchFragments for every viewer of one batch in lang.
func (f Fragments) RenderBatch(lang string, snap *market.Snapshot, cells []market.DayCell, full bool) ([]live.Block, error) {
	frags := views.BatchFragments(f.locale(lang), snap, cells, full)
	out := make([]live.Block, len(frags))
	for i, fr := range frags {
		var buf bytes.Buffer
		if err := fr.Component.Render(context.Background(), &buf); err != nil {
			return nil, err
		}
		out[i] = live.Block{ID: fr.ID, HTML: buf.Bytes()}
	}
	return out, nil
}

// RenderDashboard renders views.DashboardUpdate for every dashboard viewer in lang.
func (f Fragments) RenderDashboard(lang string, prev, next *market.Overview) ([]byte, error) {
	var buf bytes.Buffer
	err := views.DashboardUpdate(f.locale(lang), prev, next).Render(context.Background(), &buf)
	return buf.Bytes(), err
}

// RenderCoverage renders views.CoverageUpdate for every viewer of a coverage map in lang.
func (f Fragments) RenderCoverage(lang string, prev, next *market.Coverage) ([]byte, error) {
	var buf bytes.Buffer
	err := views.CoverageUpdate(f.locale(lang), prev, next).Render(context.Background(), &buf)
	return buf.Bytes(), err
}

// RenderHistory renders views.HistoryUpdate for every viewer of a history page in lang.
func (f Fragments) RenderHistory(lang string, prev, next *live.HistoryPage) ([]byte, error) {
	var buf bytes.Buffer
	err := views.HistoryUpdate(f.locale(lang), historyData(prev), historyData(next)).Render(context.Background(), &buf)
	return buf.Bytes(), err
}

// historyData is the view of a history page.
func historyData(p *live.HistoryPage) *views.HistoryData {
	if p == nil {
		return nil
	}
	size := max(p.Filter.Limit, 1)
	return &views.HistoryData{Items: p.Items, Total: p.Total, Page: p.Filter.Offset/size + 1, PageSize: size, Filter: p.Filter}
}

func (f Fragments) locale(lang string) views.Locale {
	z := f.Zone
	if z == nil {
		z = DefaultZone()
	}
	now := time.Now
	if f.Now != nil {
		now = f.Now
	}
	return views.Locale{Lang: views.ParseLang("", lang), Zone: z, Now: now()}
}
