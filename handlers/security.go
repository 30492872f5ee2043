package handlers

import (
	"fmt"
	"mime"
	"net/url"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/cors"
	"github.com/gofiber/fiber/v2/middleware/helmet"
)

// contentSecurityPolicy allows nothing but this site's own files: no inline script, no
// eval, no framing. Style attributes stay allowed (progress bars set their width with
// one); style elements do not.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"style-src-attr 'unsafe-inline'; img-src 'self' data:; font-src 'self'; connect-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// securityHeaders sets, on every answer, the CSP and the headers that keep pages out of
// frames, stop MIME sniffing and keep URLs out of other sites' Referer.
func securityHeaders() fiber.Handler {
	return helmet.New(helmet.Config{
		ContentSecurityPolicy: contentSecurityPolicy,
		XFrameOptions:         "DENY",
		ReferrerPolicy:        "same-origin",
		// Cross-origin API clients (MARKETSYNC_CORS_ORIGINS) read answers with CORS;
		// the resource policy only concerns no-cors loads such as <img> and <script>.
		CrossOriginResourcePolicy: "same-site",
	})
}

// corsAPI answers the browsers of the trusted origins (the old system's front end runs on
// a port of its own): preflights with 204 and the allowed methods and headers, every
// other answer, errors included, with Access-Control-Allow-Origin and Vary: Origin.
func corsAPI(origins []string) fiber.Handler {
	if len(origins) == 0 {
		return func(c *fiber.Ctx) error {
			c.Vary(fiber.HeaderOrigin)
			return c.Next()
		}
	}
	return cors.New(cors.Config{
		AllowOrigins: strings.Join(origins, ","),
		AllowMethods: "GET,POST,HEAD,OPTIONS",
		AllowHeaders: "Content-Type,Accept,Accept-Language,Authorization",
		MaxAge:       600,
	})
}

// corsOnError lets the pages of the trusted origins read an API error that was answered
// before corsAPI ran (a body the server refused as too large): errors reach them too.
func (s *server) corsOnError(c *fiber.Ctx) {
	c.Vary(fiber.HeaderOrigin)
	if len(c.Response().Header.Peek(fiber.HeaderAccessControlAllowOrigin)) > 0 {
		return
	}
	if origin := strings.ToLower(c.Get(fiber.HeaderOrigin)); slices.Contains(s.corsOrigins, origin) {
		c.Set(fiber.HeaderAccessControlAllowOrigin, origin)
	}
}

// ParseOrigins reads a comma-separated list of origins (MARKETSYNC_CORS_ORIGINS) such as
// "http://localhost:3000,https://guru.example.com": each a scheme and a host, with a port
// when not the scheme's default, and nothing else.
func ParseOrigins(list string) ([]string, error) {
	var out []string
	for _, o := range strings.Split(list, ",") {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil || u.Fragment != "" {
			return nil, fmt.Errorf("%q is not an origin: want scheme://host[:port], e.g. http://localhost:3000", o)
		}
		out = append(out, normalOrigin(u))
	}
	return out, nil
}

// normalOrigin writes u's origin in lower case, without the scheme's default port.
func normalOrigin(u *url.URL) string {
	scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	host = strings.TrimSuffix(host, defaultPort[scheme])
	return scheme + "://" + host
}

var defaultPort = map[string]string{"http": ":80", "https": ":443", "ws": ":80", "wss": ":443"}

// crossSiteError is a state-changing request (or a WebSocket) that a browser sent from
// another site: 403 with its reason.
type crossSiteError struct{ reason string }

func (e *crossSiteError) Error() string {
	return "cross-site request refused: " + e.reason
}

// sameOrigin refuses every state-changing request that a browser sent from another
// site. The browser says where a request comes from in Origin, else Sec-Fetch-Site,
// else Referer; a request with none of them is not a browser's (curl, scripts, the old
// system's clients) and passes. The trusted CORS origins pass too.
func (s *server) sameOrigin(c *fiber.Ctx) error {
	switch c.Method() {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
		return c.Next()
	}
	if err := s.checkOrigin(c); err != nil {
		return err
	}
	return c.Next()
}

// checkOrigin returns a crossSiteError when the request comes from a page of another
// site, nil otherwise.
func (s *server) checkOrigin(c *fiber.Ctx) error {
	if origin := c.Get(fiber.HeaderOrigin); origin != "" {
		if !s.trusted(c, origin) {
			return &crossSiteError{fmt.Sprintf("the page at %s is not this site (%s)", clip(origin), clip(c.Hostname()))}
		}
		return nil
	}
	switch site := c.Get("Sec-Fetch-Site"); site {
	case "same-origin", "none":
		return nil
	case "":
	default:
		return &crossSiteError{fmt.Sprintf("the browser says it came from a %s page", clip(site))}
	}
	if ref := c.Get(fiber.HeaderReferer); ref != "" {
		u, err := url.Parse(ref)
		if err != nil || u.Host == "" || !s.trusted(c, u.Scheme+"://"+u.Host) {
			return &crossSiteError{fmt.Sprintf("it came from %s, not from this site", clip(ref))}
		}
	}
	return nil
}

// trusted reports whether origin is this site (the host the request was sent to) or one
// of the CORS origins. "null" (sandboxed frames, file: pages) is never trusted.
func (s *server) trusted(c *fiber.Ctx, origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	o := normalOrigin(u)
	if slices.Contains(s.corsOrigins, o) {
		return true
	}
	host := strings.ToLower(c.Hostname())
	_, originHost, _ := strings.Cut(o, "://")
	return host != "" && (originHost == host || originHost == strings.TrimSuffix(host, defaultPort[u.Scheme]))
}

// requireJSON answers 415 to an API request whose body is not JSON: a cross-site page
// can send text/plain or a form without a preflight, never application/json. A POST
// without a body (curl -X POST …/cancel) needs no type.
func requireJSON(c *fiber.Ctx) error {
	switch c.Method() {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
		return c.Next()
	}
	ct := c.Get(fiber.HeaderContentType)
	if ct == "" && len(c.Request().Body()) == 0 {
		return c.Next()
	}
	if mt, _, err := mime.ParseMediaType(ct); err == nil && mt == fiber.MIMEApplicationJSON {
		return c.Next()
	}
	if ct == "" {
		ct = "none"
	}
	return fiber.NewError(fiber.StatusUnsupportedMediaType,
		fmt.Sprintf("the request body must be JSON, sent with Content-Type: application/json (got %s)", clip(ct)))
}

// clip shortens what a client sent before it goes into a message.
func clip(s string) string {
	const most = 100
	s = strings.ToValidUTF8(s, "?")
	if len(s) > most {
		return strings.ToValidUTF8(s[:most], "") + "…"
	}
	return s
}
