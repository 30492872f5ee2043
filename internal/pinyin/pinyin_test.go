package pinyin

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestInitials(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]string{
		"贵州茅台":  "gzmt",
		"*ST康美": "stkm",
		"TCL科技": "tclkj",
		"万科Ａ":   "wk",
		"五粮液":   "wly",
		"":      "",
		"中国平安 ": "zgpa",
	} {
		require.Equal(t, want, Initials(name), name)
	}
}
