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
// live.HubConfig.Renderer. Zone is where the fragments show times (nil: Asia/Shanghai).
type Fragments struct {
	Zone *time.Location
}

var _ live.Renderer = Fragments{}

// RenderBatch renders views.BatchUpdate for every viewer of one batch in lang.
func (f Fragments) RenderBatch(lang string, snap *market.Snapshot, cells []market.DayCell, full bool) ([]byte, error) {
	var buf bytes.Buffer
	err := views.BatchUpdate(f.locale(lang), snap, cells, full).Render(context.Background(), &buf)
	return buf.Bytes(), err
}

// RenderDashboard renders views.DashboardUpdate for every dashboard viewer in lang.
func (f Fragments) RenderDashboard(lang string, active, recent []market.BatchSummary) ([]byte, error) {
	var buf bytes.Buffer
	err := views.DashboardUpdate(f.locale(lang), active, recent).Render(context.Background(), &buf)
	return buf.Bytes(), err
}

func (f Fragments) locale(lang string) views.Locale {
	z := f.Zone
	if z == nil {
		z = DefaultZone()
	}
	return views.Locale{Lang: views.ParseLang("", lang), Zone: z}
}
