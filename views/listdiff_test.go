package views

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/market"
)

func rows(ids ...string) []market.BatchSummary {
	var out []market.BatchSummary
	for _, id := range ids {
		out = append(out, market.BatchSummary{TaskID: id, Status: market.BatchRunning})
	}
	return out
}

func TestDiffRows(t *testing.T) {
	t.Parallel()
	changed := rows("b")
	changed[0].Success = 3
	ops := diffRows(rows("a", "b", "c"), append(append(rows("new"), rows("a")...), append(changed, rows("d")...)...))
	require.False(t, ops.whole)
	require.Equal(t, []string{"c"}, ops.gone)
	require.Equal(t, changed, ops.changed)
	require.Equal(t, rows("new"), ops.top)
	require.Equal(t, rows("d"), ops.bottom)

	require.True(t, diffRows(rows("a", "b"), rows("b", "a")).whole, "rows that swap places")
	require.True(t, diffRows(rows("a", "b"), rows("a", "x", "b")).whole, "a new row between kept ones")
	ops = diffRows(rows("a"), rows("x", "y"))
	require.Equal(t, []string{"a"}, ops.gone)
	require.Equal(t, rows("x", "y"), ops.top)
	require.Empty(t, diffRows(rows("a", "b"), rows("a", "b")).changed, "nothing changed: nothing to send")
}

func TestDashboardUpdateSendsOnlyWhatChanged(t *testing.T) {
	t.Parallel()
	loc := Locale{Lang: LangEN}
	prev := &market.Overview{Active: rows("a", "b"), ActiveTotal: 2, Recent: rows("r1")}
	next := &market.Overview{Active: rows("n", "a", "b"), ActiveTotal: 3, Recent: rows("r1")}
	next.Active[2].Success = 7
	html := render(t, DashboardUpdate(loc, prev, next))
	require.Contains(t, html, `hx-swap-oob="afterbegin:#active-list"`)
	require.Contains(t, html, `id="active-n"`)
	require.Contains(t, html, `id="active-b" class="py-3" hx-swap-oob="true"`)
	require.NotContains(t, html, `id="active-a"`, "an unchanged row is not sent again")
	require.NotContains(t, html, `id="recent-r1"`)
	require.Contains(t, html, `id="active-header"`, "the count changed")

	html = render(t, DashboardUpdate(loc, next, next))
	require.Empty(t, strings.TrimSpace(html), "nothing changed, nothing sent")

	gone := &market.Overview{Active: rows("a", "b"), ActiveTotal: 2, Recent: rows("n", "r1")}
	html = render(t, DashboardUpdate(loc, next, gone))
	require.Contains(t, html, `id="active-n" hx-swap-oob="delete"`)
	require.Contains(t, html, `hx-swap-oob="afterbegin:#recent-list"`)
}
