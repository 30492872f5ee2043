// Package static holds the files the pages load from /static: the built CSS, htmx and
// its ws extension, the page script and the icon. They are embedded, so the binary
// needs no npm and no files beside it.
package static

import "embed"

// Files is the /static tree: css/app.css, js/htmx.min.js, js/ws.js, js/app.js and
// favicon.svg.
//
//go:embed css js favicon.svg
var Files embed.FS
