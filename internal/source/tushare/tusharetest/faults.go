package tusharetest

import (
	"fmt"
	"net/http"
)

// Fault is an answer the fake gives instead of, or on top of, its data.
type Fault int

// The faults Inject can schedule.
const (
	// FaultPermission refuses with 40203 "没有访问该接口的权限" (no permission).
	FaultPermission Fault = iota + 1
	// FaultPerMinute refuses with the per-minute 40203, as the limits do; it counts as
	// Refused.
	FaultPerMinute
	// FaultPerHour refuses with the per-hour 40203, its text in both msg and message
	// (the captured body's shape).
	FaultPerHour
	// FaultPerDay refuses with the per-day 40203, its text in detail only (no msg).
	FaultPerDay
	// FaultTooManyIPs refuses with "您的IP数量超限" (the token used from too many places).
	FaultTooManyIPs
	// FaultHTTP500 answers HTTP 500 with an HTML page.
	FaultHTTP500
	// FaultMalformed answers HTTP 200 with truncated JSON.
	FaultMalformed
	// FaultEchoToken answers an unknown error code whose message repeats the token.
	FaultEchoToken
	// FaultSlow answers after Config.SlowDelay, beyond a client's timeout.
	FaultSlow
	// FaultShuffledFields answers the fields in another order, with one more field than
	// asked for.
	FaultShuffledFields
	// FaultNoHasMore answers data without has_more.
	FaultNoHasMore
	// FaultIgnoreOffset answers every page from offset 0.
	FaultIgnoreOffset
)

// fault is an injected fault and how many more calls it applies to (negative: all).
type fault struct {
	kind Fault
	left int
}

// Inject makes the next times calls of api answer with f, after the faults injected
// before it; times < 0 makes f apply to every call from then on.
func (s *Server) Inject(api string, f Fault, times int) {
	if times == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[api] = append(s.faults[api], &fault{kind: f, left: times})
}

// refusal reports whether f answers instead of the data.
func (f Fault) refusal() bool { return f >= FaultPermission && f <= FaultEchoToken }

const docLink = "，权限的具体详情访问：https://tushare.pro/document/1?doc_id=108。"

func perMinuteMsg(n int) string {
	return fmt.Sprintf("抱歉，您每分钟最多访问该接口%d次%s", n, docLink)
}

// refuse answers c with the refusal f.
func (s *Server) refuse(w http.ResponseWriter, c call, f Fault) {
	switch f {
	case FaultPermission:
		s.writeError(w, 40203, "抱歉，您没有访问该接口的权限"+docLink)
	case FaultPerMinute:
		s.writeError(w, 40203, perMinuteMsg(max(s.cfg.Limits[c.APIName], 500)))
	case FaultPerHour:
		msg := "抱歉，您每小时最多访问该接口1次" + docLink
		writeJSON(w, map[string]any{"code": 40203, "msg": msg, "message": msg, "data": nil})
	case FaultPerDay:
		writeJSON(w, map[string]any{"code": 40203, "detail": "抱歉，您每天最多访问该接口100000次" + docLink,
			"data": nil, "request_id": s.requestID()})
	case FaultTooManyIPs:
		s.writeError(w, 40301, "您的IP数量超限，最大数量为2个！")
	case FaultHTTP500:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusInternalServerError)
		w.Write([]byte("<html><body><h1>500 Internal Server Error</h1></body></html>"))
	case FaultMalformed:
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"request_id":"` + s.requestID() + `","code":0,"msg":"","data":{"fields":["ts_code","trade_date"],"items":[["000001.SZ","2024`))
	case FaultEchoToken:
		s.writeError(w, 50001, "服务繁忙，请稍后再试 (token="+c.Token+")")
	}
}
