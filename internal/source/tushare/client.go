package tushare

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/marketsync/marketsync/internal/market"
)

// request is the body of every call, as Tushare's own client posts it.
type request struct {
	APIName string         `json:"api_name"`
	Token   string         `json:"token"`
	Params  map[string]any `json:"params"`
	Fields  string         `json:"fields"`
}

// response is every answer's body. Only code, msg and data are documented; request_id,
// has_more, message and detail are tolerated present or absent.
type response struct {
	RequestID string          `json:"request_id"`
	Code      json.Number     `json:"code"`
	Msg       string          `json:"msg"`
	Message   string          `json:"message"`
	Detail    json.RawMessage `json:"detail"`
	Data      *struct {
		Fields  []string        `json:"fields"`
		Items   json.RawMessage `json:"items"`
		HasMore *bool           `json:"has_more"`
	} `json:"data"`
}

// page is one successful answer.
type page struct {
	fields  []string
	items   [][]any // JSON values: string, json.Number, bool or nil
	hasMore *bool
	hash    uint64 // of the raw items, to notice a server that repeats a page
	id      string // request_id, if any
}

// maxBody bounds an answer's size: a full page of daily_basic is about 2 MB.
const maxBody = 64 << 20

// errMinuteLimit marks a per-minute refusal: wait for the window and call again.
var errMinuteLimit = errors.New("per-minute limit")

// post makes one HTTP call of api and decodes its answer. Tushare's refusals come back
// as errors classified by classify; transport failures, HTTP errors and malformed bodies
// as plain (transient) errors. No error text carries the token.
func (s *Source) post(ctx context.Context, api string, params map[string]any, fields []string) (*page, error) {
	body, err := json.Marshal(request{APIName: api, Token: string(s.cfg.Token), Params: params, Fields: strings.Join(fields, ",")})
	if err != nil {
		return nil, fmt.Errorf("tushare %s: encoding the request: %w", api, err)
	}
	callCtx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(callCtx, http.MethodPost, s.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("tushare %s: %s", api, s.scrub(err.Error()))
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, s.transportError(ctx, callCtx, api, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, s.transportError(ctx, callCtx, api, err)
	}
	if len(raw) > maxBody {
		return nil, fmt.Errorf("tushare %s: the answer exceeds %d MB", api, maxBody>>20)
	}
	return s.decode(api, resp, raw)
}

// decode reads an answer: a Tushare error (any HTTP status) or a page (HTTP 200 only).
func (s *Source) decode(api string, resp *http.Response, raw []byte) (*page, error) {
	if resp.StatusCode == http.StatusOK {
		if p, ok := fastPage(raw); ok {
			return p, nil
		}
	}
	return s.decodeSlow(api, resp, raw)
}

// decodeSlow is decode with encoding/json: every answer the fast reader declines.
func (s *Source) decodeSlow(api string, resp *http.Response, raw []byte) (*page, error) {
	var r response
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	jsonErr := dec.Decode(&r)
	code, codeErr := r.Code.Int64()
	if jsonErr == nil && r.Code != "" && codeErr == nil && code != 0 {
		return nil, s.apiError(api, int(code), r)
	}
	if resp.StatusCode != http.StatusOK {
		msg := fmt.Sprintf("tushare %s: HTTP %s", api, resp.Status)
		if loc := resp.Header.Get("Location"); loc != "" {
			msg += " to " + redactURL(loc) + " (set " + EnvURL + " to the endpoint itself)"
		}
		return nil, errors.New(s.scrub(msg))
	}
	if jsonErr != nil || r.Data == nil || (r.Code != "" && codeErr != nil) {
		return nil, fmt.Errorf("tushare %s: malformed answer (%d bytes): %s", api, len(raw), s.scrub(describe(jsonErr, r.Data == nil)))
	}
	p := &page{fields: r.Data.Fields, hasMore: r.Data.HasMore, id: r.RequestID}
	h := fnv.New64a()
	h.Write(r.Data.Items)
	p.hash = h.Sum64()
	if len(r.Data.Items) > 0 && string(r.Data.Items) != "null" {
		dec := json.NewDecoder(bytes.NewReader(r.Data.Items))
		dec.UseNumber()
		if err := dec.Decode(&p.items); err != nil {
			return nil, fmt.Errorf("tushare %s: malformed items: %s", api, s.scrub(err.Error()))
		}
	}
	for _, it := range p.items {
		if len(it) != len(p.fields) {
			return nil, fmt.Errorf("tushare %s: malformed answer: a row of %d values for %d fields", api, len(it), len(p.fields))
		}
	}
	return p, nil
}

func describe(err error, noData bool) string {
	if err != nil {
		return err.Error()
	}
	if noData {
		return "no data"
	}
	return "no valid code"
}

// transportError words a failed HTTP exchange. The caller's own cancellation is wrapped
// (errors.Is context.Canceled); the call's timeout and network failures are plain
// transient errors. The text comes from the underlying error without the URL that
// url.Error adds, and is scrubbed of the token all the same.
func (s *Source) transportError(ctx, callCtx context.Context, api string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("tushare %s: %w", api, ctx.Err())
	}
	if errors.Is(callCtx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("tushare %s: no answer within %s", api, s.cfg.Timeout)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return errors.New(s.scrub(fmt.Sprintf("tushare %s: %s", api, err)))
}

// scrub removes the token from text that came from elsewhere (a server's message, a
// library's error), should it ever echo it.
func (s *Source) scrub(text string) string {
	if tok := string(s.cfg.Token); tok != "" {
		text = strings.ReplaceAll(text, tok, redacted)
	}
	if len(text) > 500 {
		text = text[:500] + "…"
	}
	return text
}

// outcome is what a Tushare error code and message mean for the caller.
type outcome int

const (
	transient      outcome = iota // plain error: the engine retries with backoff
	waitMinute                    // per-minute limit: wait for the window, call again
	tokenRefused                  // market.ErrSourceRefused: the batch fails
	quotaExhausted                // market.ErrQuotaExhausted: the day fails without retries
	datasetRefused                // market.ErrDatasetRefused: every day of the dataset fails
)

// classify decides what a Tushare refusal means. Rate limits and missing permissions
// share code 40203 and differ by text only: "每分钟/每小时/每天最多访问" are rate limits.
func classify(code int, msg string) outcome {
	switch {
	case code == 40101:
		return tokenRefused
	case strings.Contains(msg, "IP数量超限"): // the token is used from too many addresses
		return tokenRefused
	case code == 40203 && strings.Contains(msg, "最多访问"):
		if strings.Contains(msg, "每小时") || strings.Contains(msg, "每天") || strings.Contains(msg, "每日") {
			return quotaExhausted
		}
		return waitMinute // 每分钟, or a window it does not name: a short wait is the safe guess
	case code == 40203, code == 2002: // no permission, too few points
		return datasetRefused
	}
	return transient
}

// apiError builds the error for a non-zero code, wrapping the domain error it means.
func (s *Source) apiError(api string, code int, r response) error {
	msg := r.Msg
	if msg == "" {
		msg = r.Message
	}
	if msg == "" && len(r.Detail) > 0 {
		var d string
		if json.Unmarshal(r.Detail, &d) != nil {
			d = string(r.Detail)
		}
		msg = d
	}
	said := fmt.Sprintf("code %d: %s", code, msg)
	if r.RequestID != "" {
		said += ", request_id " + r.RequestID
	}
	said = s.scrub(said)
	switch classify(code, msg) {
	case waitMinute:
		return fmt.Errorf("tushare %s: %w (%s)", api, errMinuteLimit, said)
	case tokenRefused:
		return fmt.Errorf("tushare %s: %w: Tushare rejected the token (%s)", api, market.ErrSourceRefused, said)
	case quotaExhausted:
		return fmt.Errorf("tushare %s: %w (%s)", api, market.ErrQuotaExhausted, said)
	case datasetRefused:
		return fmt.Errorf("tushare %s: %w: the account may not read %s (%s)", api, market.ErrDatasetRefused, api, said)
	}
	return fmt.Errorf("tushare %s: %s", api, said)
}

// call makes one call of api through the rate limiter, waiting out per-minute refusals:
// until one minute, then two, … after the first refusal, at most MaxMinuteWaits times.
func (s *Source) call(ctx context.Context, api string, params map[string]any, fields []string) (*page, error) {
	var firstRefused time.Time
	for waits := 0; ; waits++ {
		if s.lim != nil {
			waited, err := s.lim.Await(ctx, "tushare/"+api, s.limit(api))
			if err != nil {
				if ctx.Err() != nil {
					return nil, fmt.Errorf("tushare %s: %w", api, ctx.Err())
				}
				return nil, fmt.Errorf("tushare %s: waiting for the rate limiter: %w", api, err)
			}
			s.cfg.Metrics.RateLimitWait(s.Name(), api, waited)
		}
		began := s.cfg.Now()
		p, err := s.post(ctx, api, params, fields)
		s.record(api, s.cfg.Now().Sub(began), err)
		if !errors.Is(err, errMinuteLimit) {
			if err == nil {
				s.cfg.Logger.Debug("tushare call", "api", api, "offset", params["offset"], "rows", len(p.items),
					"request_id", p.id, "elapsed", s.cfg.Now().Sub(began))
			}
			return p, err
		}
		if waits >= s.cfg.MaxMinuteWaits {
			return nil, fmt.Errorf("tushare %s: still over the per-minute limit after waiting %d times: %s", api, waits, err)
		}
		now := s.cfg.Now()
		if firstRefused.IsZero() {
			firstRefused = now
		}
		until := firstRefused.Add(time.Minute)
		for !until.After(now) {
			until = until.Add(time.Minute)
		}
		s.cfg.Logger.Warn("tushare per-minute limit reached; waiting for the window", "api", api,
			"wait", until.Sub(now).Round(time.Millisecond), "limit_per_minute", s.limit(api))
		if err := s.cfg.Sleep(ctx, until.Sub(now)); err != nil {
			return nil, fmt.Errorf("tushare %s: waiting for the per-minute window: %w", api, err)
		}
		s.cfg.Metrics.RateLimitWait(s.Name(), api, until.Sub(now))
	}
}

// record counts one call of api in the metrics: a per-minute refusal is a wait, not an
// error.
func (s *Source) record(api string, took time.Duration, err error) {
	if errors.Is(err, errMinuteLimit) {
		err = nil
	}
	s.cfg.Metrics.UpstreamCall(s.Name(), api, took, err)
}

// limit is the rate asked of the limiter for api: 95% of the account's limit, so that
// network jitter never brings more calls than the limit into one window upstream.
func (s *Source) limit(api string) int {
	n := s.cfg.Limits[api]
	if n <= 0 {
		return 0
	}
	return max(1, n*19/20)
}
