package market_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/market"
)

func TestParseScheduleSeeds(t *testing.T) {
	t.Parallel()
	seeds, off, err := market.ParseScheduleSeeds(" daily@17:30, adj_factor/tushare@08:05 ")
	require.NoError(t, err)
	require.False(t, off)
	require.Equal(t, []market.ScheduleSeed{
		{Dataset: "daily", At: market.TimeOfDay{Hour: 17, Minute: 30}},
		{Dataset: "adj_factor", Source: "tushare", At: market.TimeOfDay{Hour: 8, Minute: 5}},
	}, seeds)
	_, off, err = market.ParseScheduleSeeds("off")
	require.NoError(t, err)
	require.True(t, off)
	seeds, _, err = market.ParseScheduleSeeds("")
	require.NoError(t, err)
	require.Equal(t, []market.ScheduleSeed{{Dataset: "daily", At: market.DefaultScheduleTime}}, seeds)

	for _, bad := range []string{"daily", "minute@17:30", "daily@25:00", "daily@5:30", "daily@17:30,daily@18:00", "daily@17:30:00"} {
		_, _, err := market.ParseScheduleSeeds(bad)
		require.Error(t, err, bad)
		require.True(t, market.IsInputError(err), bad)
		require.Contains(t, err.Error(), "schedule", bad)
	}
}
