package baostocktest_test

import (
	"bufio"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/source/baostock"
	"github.com/marketsync/marketsync/internal/source/baostock/baostocktest"
)

// conn is a raw connection to the fake, speaking frames by hand.
type conn struct {
	t  *testing.T
	c  net.Conn
	rd *bufio.Reader
}

func dial(t *testing.T, srv *baostocktest.Server) *conn {
	t.Helper()
	c, err := net.Dial("tcp", srv.Addr())
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	return &conn{t: t, c: c, rd: bufio.NewReader(c)}
}

// ask sends a request of type typ with body fields and returns the reply's type and fields.
func (c *conn) ask(typ string, fields ...string) (string, []string) {
	c.t.Helper()
	req, err := baostock.EncodeRequest(baostock.Message{Version: "00.9.10", Type: typ, Body: strings.Join(fields, baostock.Sep)})
	require.NoError(c.t, err)
	_, err = c.c.Write(req)
	require.NoError(c.t, err)
	m, err := baostock.ReadResponse(c.rd, 0)
	require.NoError(c.t, err)
	return m.Type, m.Fields()
}

func TestReplaysCapturesByteForByte(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("..", "testdata")
	srv := baostocktest.New(t, baostocktest.Config{CaptureDir: dir})
	c := dial(t, srv)
	// The login first: the other captures are answered to a logged-in connection only.
	for _, name := range []string{"login", "query_trade_dates", "query_all_stock", "query_stock_basic",
		"query_adjust_factor", "query_history_k_data_plus"} {
		req, err := os.ReadFile(filepath.Join(dir, name, "request.bin"))
		require.NoError(t, err)
		want, err := os.ReadFile(filepath.Join(dir, name, "response.bin"))
		require.NoError(t, err)
		_, err = c.c.Write(req)
		require.NoError(t, err)
		got := make([]byte, len(want))
		_, err = io.ReadFull(c.rd, got)
		require.NoError(t, err)
		require.Equal(t, want, got, name)
	}
	require.Zero(t, c.rd.Buffered())
}

func TestSessionsBelongToConnections(t *testing.T) {
	t.Parallel()
	srv := baostocktest.New(t, baostocktest.Config{})
	c := dial(t, srv)
	typ, f := c.ask(baostock.TypeTradeDates, "query_trade_dates", "anonymous", "1", "10", "2024-01-01", "2024-01-02")
	require.Equal(t, baostock.TypeError, typ)
	require.Equal(t, baostock.CodeNotLoggedIn, f[0], "no login on this connection")

	typ, f = c.ask(baostock.TypeLogin, "login", "anonymous", "123456", "0")
	require.Equal(t, "01", typ)
	require.Equal(t, []string{"0", "success", "login", "anonymous"}, f[:4])
	typ, f = c.ask(baostock.TypeTradeDates, "query_trade_dates", "anonymous", "1", "10", "2024-01-01", "2024-01-02")
	require.Equal(t, "34", typ)
	require.Equal(t, []string{"0", "success", "query_trade_dates", "anonymous", "1", "10", `{"record":[]}`,
		"2024-01-01", "2024-01-02", "calendar_date, is_trading_day"}, f, "no market: empty pages")

	srv.ExpireSessions()
	_, f = c.ask(baostock.TypeTradeDates, "query_trade_dates", "anonymous", "1", "10", "2024-01-01", "2024-01-02")
	require.Equal(t, baostock.CodeNotLoggedIn, f[0])

	c.ask(baostock.TypeLogin, "login", "anonymous", "123456", "0")
	typ, f = c.ask("85", "query_ame_stocks", "anonymous", "1", "10")
	require.Equal(t, baostock.TypeError, typ)
	require.Equal(t, []string{baostock.CodeBadMessageType, "错误的消息类型"}, f)
	require.Equal(t, 4, srv.Stats().Calls[baostock.TypeTradeDates]+srv.Stats().Calls["85"])
}

// Without BlacklistAll only the connection beyond the limit is refused.
func TestBlacklistPerConnection(t *testing.T) {
	t.Parallel()
	srv := baostocktest.New(t, baostocktest.Config{BlacklistAfter: 1})
	first := dial(t, srv)
	_, f := first.ask(baostock.TypeLogin, "login", "anonymous", "123456", "0")
	require.Equal(t, "0", f[0])
	second := dial(t, srv)
	typ, f := second.ask(baostock.TypeLogin, "login", "anonymous", "123456", "0")
	require.Equal(t, baostock.TypeError, typ)
	require.Equal(t, []string{baostock.CodeBlacklisted, baostock.MsgBlacklisted}, f)
	_, f = first.ask(baostock.TypeLogout, "logout", "anonymous", "20240101000000")
	require.Equal(t, "0", f[0], "the first connection is still served")
	st := srv.Stats()
	require.Equal(t, 2, st.Connections)
	require.Equal(t, 2, st.MaxOpen)
}
