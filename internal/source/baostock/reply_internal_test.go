package baostock

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// fastRecords reads what encoding/json reads, or declines.
func TestFastRecordsReadsWhatTheSlowPathReads(t *testing.T) {
	t.Parallel()
	accepted := []string{
		`{"record":[]}`,
		`{"record":[["2024-01-02","sh.600000","7.0100",null,""],["2024-01-03","sh.600000","7.0200","1",""]]}`,
		`{"record":[["浦发银行","ST 中 科"]]}`,
	}
	for _, s := range accepted {
		fast, ok := fastRecords(s)
		require.True(t, ok, s)
		slow, err := slowRecords(s)
		require.NoError(t, err)
		if len(slow) == 0 {
			require.Empty(t, fast)
			continue
		}
		require.Equal(t, slow, fast, s)
	}
	declined := []string{
		``, `{"record":[[1.5,"x"]]}`, `{"record": [["x"]]}`, `{"record":[["a\"b"]]}`, `{"record":[["a\tb"]]}`,
		`{"record":[["bad` + "\xff" + `"]]}`, `{"record":[["x"]`, `{"other":[]}`, `{"record":[["x"],]}`,
	}
	for _, s := range declined {
		_, ok := fastRecords(s)
		require.False(t, ok, s)
		_, _ = parseRecords(s) // the thorough way still answers, one way or the other
	}
}
