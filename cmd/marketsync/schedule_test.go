package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/pgtest"
)

func TestBadScheduleExits2(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	for _, c := range []struct{ schedule, says string }{
		{"daily@25:00", "HH:MM"},
		{"minute@17:30", "unknown dataset"},
		{"daily/nowhere@17:30", "unknown source"},
		{"daily/tushare@17:30", "unknown source"}, // known, but not configured here
	} {
		for _, cmd := range []string{"worker", "serve"} {
			args := []string{cmd}
			if cmd == "serve" {
				args = append(args, "--addr", "127.0.0.1:0")
			}
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), args, env(db, "MARKETSYNC_SCHEDULE", c.schedule), &stdout, &stderr)
			require.Equal(t, 2, code(err), "%s %s: %v", cmd, c.schedule, err)
			var msg bytes.Buffer
			exitCode(err, &msg)
			require.Equal(t, 1, strings.Count(strings.TrimSpace(msg.String()), "\n")+1, msg.String())
			require.Contains(t, msg.String(), "MARKETSYNC_SCHEDULE")
			require.Contains(t, msg.String(), c.says)
		}
	}
}
