// Package pinyin spells Chinese stock names the way Tushare's stock_basic.cnspell does:
// the pinyin initials of the short name, in lower case, for sources whose stock list
// has none (Baostock).
package pinyin

import (
	"strings"
	"unicode"

	gopinyin "github.com/mozillazg/go-pinyin"
)

// Initials returns the lower-case initials of name: a Han character's first pinyin
// letter (its most common reading), Latin letters and digits as they are, everything
// else (*, spaces, punctuation) left out. "贵州茅台" is "gzmt", "*ST康美" is "stkm".
func Initials(name string) string {
	args := gopinyin.NewArgs()
	args.Style = gopinyin.FirstLetter
	var b strings.Builder
	for _, r := range name {
		switch {
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			b.WriteRune(unicode.ToLower(r))
		case unicode.Is(unicode.Han, r):
			if p := gopinyin.SinglePinyin(r, args); len(p) > 0 && p[0] != "" {
				b.WriteString(strings.ToLower(p[0][:1]))
			}
		}
	}
	return b.String()
}
