package tushare

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/marketsync/marketsync/internal/metrics"
)

// Secret is a credential. It prints as [redacted] in every fmt verb, in slog and in
// JSON, so a Config can be logged or shown without leaking its token.
type Secret string

const redacted = "[redacted]"

// String returns [redacted].
func (Secret) String() string { return redacted }

// GoString returns [redacted], for %#v.
func (Secret) GoString() string { return redacted }

// Format writes [redacted] whatever the verb (fmt would print a string kind's raw value
// for verbs such as %d).
func (Secret) Format(f fmt.State, _ rune) { io.WriteString(f, redacted) }

// LogValue returns [redacted] for slog.
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalText returns [redacted], for JSON and other encoders.
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// Environment variables read by ConfigFromEnv.
const (
	EnvToken      = "TUSHARE_TOKEN"
	EnvURL        = "TUSHARE_URL"
	EnvTimeout    = "TUSHARE_TIMEOUT"
	EnvRateLimits = "TUSHARE_RATE_LIMITS"
)

// DefaultURL is Tushare Pro's endpoint, as its official client posts to it.
const DefaultURL = "http://api.tushare.pro"

// DefaultTimeout bounds one HTTP call.
const DefaultTimeout = 30 * time.Second

// DefaultPageSize is the rows per call of every api we use (Tushare caps daily,
// daily_basic and stock_basic at 6000; adj_factor and trade_cal state no cap).
const DefaultPageSize = 6000

// DefaultLimits are the calls per minute an account with the base points may make, per
// api (upstreams/README.md).
func DefaultLimits() map[string]int {
	return map[string]int{"daily": 500, "adj_factor": 500, "daily_basic": 500, "stock_basic": 50, "trade_cal": 500}
}

// Config tunes a Source. Only Token is required; zero values take the defaults noted.
type Config struct {
	// Token is the account's API token (TUSHARE_TOKEN). It never reaches a log, an
	// error or a page.
	Token Secret
	// URL is the endpoint calls are POSTed to (default DefaultURL).
	URL string
	// Timeout bounds each HTTP call (default 30s).
	Timeout time.Duration
	// Limits are calls per minute per api; an api missing here takes DefaultLimits.
	Limits map[string]int
	// PageSizes are rows per call per api (default DefaultPageSize). A page size must
	// not exceed the server's cap: a page shorter than it ends the listing.
	PageSizes map[string]int
	// MaxPages bounds the calls of one listing (default 1000), so that a server that
	// keeps saying there is more cannot keep the client going forever.
	MaxPages int
	// MaxMinuteWaits bounds how often one call waits out a per-minute refusal before it
	// fails, transiently (default 5).
	MaxMinuteWaits int
	// HTTPClient makes the calls (default: a client that never follows redirects).
	HTTPClient *http.Client
	// Logger receives a debug line per call and a warning per rate-limit wait (default:
	// none).
	Logger *slog.Logger
	// Now and Sleep are the clock of rate-limit waits (default time.Now and a timer that
	// honours ctx); tests drive them.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	// Metrics counts and times the calls, their errors and the rate-limit waits, by api
	// (nil: none).
	Metrics *metrics.Metrics
}

// ConfigFromEnv reads TUSHARE_TOKEN (required), TUSHARE_URL, TUSHARE_TIMEOUT (a Go
// duration such as 30s) and TUSHARE_RATE_LIMITS (calls per minute per api, such as
// "daily=500,adj_factor=200", over DefaultLimits) through getenv.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{Token: Secret(strings.TrimSpace(getenv(EnvToken))), URL: getenv(EnvURL)}
	if cfg.Token == "" {
		return Config{}, fmt.Errorf("%s is not set: the Tushare source needs the account's token", EnvToken)
	}
	if v := getenv(EnvTimeout); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return Config{}, fmt.Errorf("%s=%q: want a positive duration such as 30s", EnvTimeout, v)
		}
		cfg.Timeout = d
	}
	if v := getenv(EnvRateLimits); v != "" {
		limits, err := parseLimits(v)
		if err != nil {
			return Config{}, fmt.Errorf("%s=%q: %w", EnvRateLimits, v, err)
		}
		cfg.Limits = limits
	}
	return cfg, cfg.check()
}

// parseLimits reads "daily=500,adj_factor=200".
func parseLimits(s string) (map[string]int, error) {
	limits := make(map[string]int)
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		api, n, ok := strings.Cut(item, "=")
		v, err := strconv.Atoi(strings.TrimSpace(n))
		api = strings.TrimSpace(api)
		if !ok || api == "" || err != nil || v <= 0 {
			return nil, fmt.Errorf("%q: want api=calls per minute, such as daily=500", item)
		}
		limits[api] = v
	}
	return limits, nil
}

// check validates what a Source cannot work without.
func (c *Config) check() error {
	if c.Token == "" {
		return fmt.Errorf("tushare: no token (set %s)", EnvToken)
	}
	if c.URL != "" {
		// The message shows no part of the URL: a mistyped one may hold anything.
		u, err := url.Parse(c.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("tushare: the URL (%s) is not an http:// or https:// URL", EnvURL)
		}
	}
	return nil
}

// withDefaults returns a copy of c with every default filled in.
func (c Config) withDefaults() Config {
	if c.URL == "" {
		c.URL = DefaultURL
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	limits := DefaultLimits()
	maps.Copy(limits, c.Limits)
	c.Limits = limits
	c.PageSizes = maps.Clone(c.PageSizes)
	if c.MaxPages <= 0 {
		c.MaxPages = 1000
	}
	if c.MaxMinuteWaits <= 0 {
		c.MaxMinuteWaits = 5
	}
	if c.HTTPClient == nil {
		// A redirect would carry the token's body to wherever it points: never follow one.
		c.HTTPClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Sleep == nil {
		c.Sleep = sleep
	}
	return c
}

// String shows the configuration with its token redacted.
func (c Config) String() string {
	var limits []string
	for _, api := range slices.Sorted(maps.Keys(c.Limits)) {
		limits = append(limits, fmt.Sprintf("%s=%d", api, c.Limits[api]))
	}
	return fmt.Sprintf("tushare.Config{URL: %s, Token: %s, Timeout: %s, Limits: %s}",
		redactURL(c.URL), redacted, c.Timeout, strings.Join(limits, ","))
}

// GoString is String, for %#v.
func (c Config) GoString() string { return c.String() }

// LogValue shows the configuration in slog with its token redacted.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// redactURL hides a password or query an endpoint URL might carry.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(an unparsable URL)"
	}
	if u.RawQuery != "" {
		u.RawQuery = "redacted"
	}
	return u.Redacted()
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
