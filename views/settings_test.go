package views

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/market"
)

func TestScheduleKeysExist(t *testing.T) {
	t.Parallel()
	literal := regexp.MustCompile(`"((?:settings|schedule)\.[a-z0-9_.]+)"`)
	seen := 0
	for _, glob := range []string{"*.templ", "../handlers/*.go"} {
		files, err := filepath.Glob(glob)
		require.NoError(t, err)
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			for _, m := range literal.FindAllStringSubmatch(string(b), -1) {
				if strings.HasSuffix(m[1], ".") {
					continue // a prefix, completed below
				}
				seen++
				require.True(t, HasKey(m[1]), "the catalog has no key %q", m[1])
			}
		}
	}
	require.Greater(t, seen, 15)
	for _, o := range []market.ScheduleOutcome{market.ScheduleStarted, market.ScheduleNothingToDo, market.ScheduleSkipped, market.ScheduleFailed} {
		require.True(t, HasKey("schedule.outcome."+string(o)), o)
	}
}

func TestSettingsPage(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 10, 20, 10, 0, 0, 0, market.ExchangeZone)
	next := time.Date(2025, 10, 20, 17, 30, 0, 0, market.ExchangeZone)
	fired := now.Add(-16 * time.Hour)
	day := time.Date(2025, 10, 17, 0, 0, 0, 0, time.UTC)
	list := []market.Schedule{
		{ID: 1, Dataset: "daily", Source: "demo", At: market.DefaultScheduleTime, Enabled: true, NextRun: &next,
			LastDay: &day, LastFiredAt: &fired, LastOutcome: market.ScheduleStarted, LastMessage: "2025-10-17 → 2025-10-17",
			LastTaskID: "2025-10-17_2025-10-17_1760693400", LastBatchStatus: market.BatchCompleted},
		{ID: 2, Dataset: "adj_factor", Source: "demo", At: market.TimeOfDay{Hour: 18}, Enabled: false},
	}
	for _, lang := range Langs() {
		loc := Locale{Lang: lang, Zone: market.ExchangeZone, Now: now, Path: "/settings"}
		sec := ScheduleSection{Schedules: list, Sources: []market.SourceInfo{{Name: "demo", Datasets: market.DatasetNames()}},
			Form: ScheduleForm{Time: "17:30", Enabled: true, Error: "Nothing was changed: bad"}}
		html := render(t, SettingsPage(loc, SettingsData{Schedules: sec}))
		for _, want := range []string{`id="settings-sections"`, `id="schedules"`, `hx-post="/settings/schedules"`,
			`hx-target="#schedules"`, `id="schedule-1"`, `value="18:00"`, `href="/batches/2025-10-17_2025-10-17_1760693400"`,
			T(lang, "schedule.next", loc.DateTime(next)), T(lang, "schedule.disabled"), `data-testid="schedule-error"`,
			T(lang, "schedule.outcome.started"), `aria-current="page"`} {
			require.Contains(t, html, want, lang)
		}
		html = render(t, DashboardPage(loc, DashboardData{Form: NewStartForm("2025-10-17"), Overview: &market.Overview{}, Schedules: list}))
		require.Contains(t, html, `data-testid="schedule-panel"`)
		require.Contains(t, html, T(lang, "schedule.next", loc.DateTime(next)))
		require.NotContains(t, render(t, DashboardPage(loc, DashboardData{Form: NewStartForm("2025-10-17"), Overview: &market.Overview{}})), "schedule-panel")
	}
}
