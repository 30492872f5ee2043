package baostock

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strconv"
	"unicode/utf8"
)

// Framing constants (upstreams/README.md §2, "Frame layout").
const (
	// HeaderLen is the size of a frame header: VERSION(7) \x01 TYPE(2) \x01 BODYLEN(10).
	HeaderLen = 21
	// Sep separates header parts and body fields.
	Sep = "\x01"
	// EndMarker ends every reply, plain or compressed.
	EndMarker = "<![CDATA[]]>\n"
	// DefaultMaxFrame caps the size of one frame, raw or decompressed.
	DefaultMaxFrame = 64 << 20
)

// Message types of the calls marketsync makes. A reply's type is its request's plus one
// (hex), except errors, which come back as TypeError.
const (
	TypeLogin        = "00"
	TypeLogout       = "02"
	TypeError        = "04"
	TypeAdjustFactor = "15"
	TypeTradeDates   = "33"
	TypeAllStock     = "35"
	TypeStockBasic   = "45"
	TypeKData        = "95"
)

// ErrMalformed is matched (errors.Is) by every frame that breaks the layout: a bad header,
// a wrong CRC, bytes after the body that are not a CRC, invalid UTF-8 or zlib data, or a
// frame larger than the cap.
var ErrMalformed = errors.New("malformed baostock frame")

// Message is one frame: its header fields and its body, decompressed if it came
// compressed. Body fields are joined by Sep.
type Message struct {
	// Version is the sender's version string ("00.9.10" from the 0.9.1 client, "00.9.00"
	// from the server).
	Version string
	// Type is the two-character message type ("95", "96", "04").
	Type string
	// Body is the body text, without the CRC and trailer.
	Body string
}

// Fields splits the body into its fields.
func (m Message) Fields() []string { return splitFields(m.Body) }

func splitFields(body string) []string {
	var out []string
	for {
		i := indexSep(body)
		if i < 0 {
			return append(out, body)
		}
		out = append(out, body[:i])
		body = body[i+1:]
	}
}

func indexSep(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == Sep[0] {
			return i
		}
	}
	return -1
}

// ReplyType returns the type of a successful reply to a request of type t: t plus one in
// hex ("95" → "96", "9C" → "9D").
func ReplyType(t string) string {
	n, err := strconv.ParseUint(t, 16, 8)
	if err != nil || len(t) != 2 {
		return ""
	}
	return fmt.Sprintf("%02X", n+1)
}

// IsCompressed reports whether replies of type t carry a zlib-compressed body: 96 (k data)
// is verified; 99, 9B and 9D come from a third-party port and are accepted as well.
func IsCompressed(t string) bool {
	switch t {
	case "96", "99", "9B", "9D":
		return true
	}
	return false
}

// header builds VERSION \x01 TYPE \x01 BODYLEN for a body of n (characters for plain
// bodies, bytes for compressed ones).
func header(version, typ string, n int) ([]byte, error) {
	if len(version) != 7 || len(typ) != 2 {
		return nil, fmt.Errorf("%w: version %q or type %q of the wrong length", ErrMalformed, version, typ)
	}
	if n < 0 || n > 9_999_999_999 {
		return nil, fmt.Errorf("%w: body length %d", ErrMalformed, n)
	}
	return fmt.Appendf(make([]byte, 0, HeaderLen), "%s%s%s%s%010d", version, Sep, typ, Sep, n), nil
}

// crc is the decimal IEEE CRC-32 the protocol appends, over the UTF-8 of header+body.
func crc(hdr []byte, body []byte) string {
	h := crc32.NewIEEE()
	h.Write(hdr)
	h.Write(body)
	return strconv.FormatUint(uint64(h.Sum32()), 10)
}

// EncodeRequest encodes a request frame as the Python client sends it: header + body +
// \x01 + CRC-32(header+body) + "\n", where the header's BODYLEN counts the body's
// characters (runes), not its bytes.
func EncodeRequest(m Message) ([]byte, error) {
	if bytes.IndexByte([]byte(m.Body), '\n') >= 0 {
		return nil, fmt.Errorf("%w: a request body cannot contain a newline", ErrMalformed)
	}
	hdr, err := header(m.Version, m.Type, utf8.RuneCountInString(m.Body))
	if err != nil {
		return nil, err
	}
	out := append(hdr, m.Body...)
	out = append(out, Sep...)
	out = append(out, crc(hdr, []byte(m.Body))...)
	return append(out, '\n'), nil
}

// EncodeResponse encodes a reply frame as the server sends it. Plain: header + body +
// \x01 + CRC + EndMarker, BODYLEN in characters. Compressed types (IsCompressed): header +
// zlib(body) + \x01 + CRC + "\n" + EndMarker, BODYLEN in compressed bytes; the server's
// CRC over such frames matched nothing tried, so this one covers header + compressed
// bytes, and decoders ignore it.
func EncodeResponse(m Message) ([]byte, error) {
	if !IsCompressed(m.Type) {
		hdr, err := header(m.Version, m.Type, utf8.RuneCountInString(m.Body))
		if err != nil {
			return nil, err
		}
		out := append(hdr, m.Body...)
		out = append(out, Sep...)
		out = append(out, crc(hdr, []byte(m.Body))...)
		return append(out, EndMarker...), nil
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	if _, err := io.WriteString(zw, m.Body); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	hdr, err := header(m.Version, m.Type, z.Len())
	if err != nil {
		return nil, err
	}
	out := append(hdr, z.Bytes()...)
	out = append(out, Sep...)
	out = append(out, crc(hdr, z.Bytes())...)
	out = append(out, '\n')
	return append(out, EndMarker...), nil
}

// parseHeader checks a 21-byte header and returns its version, type and body length.
func parseHeader(h []byte) (version, typ string, n int, err error) {
	if len(h) != HeaderLen || h[7] != Sep[0] || h[10] != Sep[0] {
		return "", "", 0, fmt.Errorf("%w: bad header %q", ErrMalformed, h)
	}
	for _, b := range h[11:] {
		if b < '0' || b > '9' {
			return "", "", 0, fmt.Errorf("%w: bad body length in header %q", ErrMalformed, h)
		}
	}
	for _, b := range h[:10] {
		if b < 0x20 && b != Sep[0] || b >= 0x7f {
			return "", "", 0, fmt.Errorf("%w: bad header %q", ErrMalformed, h)
		}
	}
	n64, _ := strconv.ParseInt(string(h[11:]), 10, 64)
	return string(h[:7]), string(h[8:10]), int(n64), nil
}

// readHeader reads and parses a header. A stream that ends before its first byte gives
// io.EOF; one that ends inside the header gives io.ErrUnexpectedEOF.
func readHeader(r io.Reader, max int) (hdr []byte, version, typ string, n int, err error) {
	hdr = make([]byte, HeaderLen)
	if _, err = io.ReadFull(r, hdr); err != nil {
		return nil, "", "", 0, err
	}
	if version, typ, n, err = parseHeader(hdr); err != nil {
		return nil, "", "", 0, err
	}
	if n > max {
		return nil, "", "", 0, fmt.Errorf("%w: body of %d exceeds the %d-byte cap", ErrMalformed, n, max)
	}
	return hdr, version, typ, n, nil
}

// unexpected turns the end of a stream inside a frame into io.ErrUnexpectedEOF.
func unexpected(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("connection closed inside a frame: %w", io.ErrUnexpectedEOF)
	}
	return err
}

// ReadResponse reads one reply frame: up to the EndMarker that ends it, at most max bytes
// (DefaultMaxFrame if max ≤ 0), compressed or not. It checks the CRC of plain frames
// (when present: it is accepted absent) and not that of compressed ones, as the facts
// say only the former is verifiable. A stream that ends before the first byte gives
// io.EOF, inside the frame io.ErrUnexpectedEOF; a frame that breaks the layout gives
// ErrMalformed. Read deadlines are the caller's (net.Conn.SetReadDeadline).
func ReadResponse(r *bufio.Reader, max int) (Message, error) {
	if max <= 0 {
		max = DefaultMaxFrame
	}
	hdr, version, typ, n, err := readHeader(r, max)
	if err != nil {
		if err == io.EOF { // nothing read: a clean end between frames
			return Message{}, io.EOF
		}
		return Message{}, unexpected(err)
	}
	if IsCompressed(typ) {
		body, err := readCompressed(r, n, max)
		if err != nil {
			return Message{}, err
		}
		return Message{Version: version, Type: typ, Body: body}, nil
	}
	body, err := readPlain(r, hdr, n, max)
	if err != nil {
		return Message{}, err
	}
	return Message{Version: version, Type: typ, Body: body}, nil
}

// readCompressed reads n bytes of zlib data, then the "\x01CRC\n" tail and the marker.
func readCompressed(r *bufio.Reader, n, max int) (string, error) {
	var zbuf bytes.Buffer // grows as bytes arrive, not to a garbage header's length
	if _, err := io.CopyN(&zbuf, r, int64(n)); err != nil {
		return "", unexpected(err)
	}
	z := zbuf.Bytes()
	tail, err := readThroughMarker(r, 64)
	if err != nil {
		return "", err
	}
	tail = bytes.TrimSuffix(tail[:len(tail)-len(EndMarker)], []byte("\n"))
	if err := checkCRCField(tail); err != nil {
		return "", err
	}
	zr, err := zlib.NewReader(bytes.NewReader(z))
	if err != nil {
		return "", fmt.Errorf("%w: compressed body: %v", ErrMalformed, err)
	}
	body, err := io.ReadAll(io.LimitReader(zr, int64(max)+1))
	if err != nil {
		return "", fmt.Errorf("%w: compressed body: %v", ErrMalformed, err)
	}
	if len(body) > max {
		return "", fmt.Errorf("%w: decompressed body exceeds the %d-byte cap", ErrMalformed, max)
	}
	if !utf8.Valid(body) {
		return "", fmt.Errorf("%w: decompressed body is not UTF-8", ErrMalformed)
	}
	return string(body), nil
}

// readThroughMarker reads up to and including the first EndMarker, at most max bytes.
func readThroughMarker(r *bufio.Reader, max int) ([]byte, error) {
	var buf []byte
	for !bytes.HasSuffix(buf, []byte(EndMarker)) {
		line, err := r.ReadSlice('\n')
		buf = append(buf, line...)
		if len(buf) > max {
			return nil, fmt.Errorf("%w: no end marker within %d bytes", ErrMalformed, max)
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return nil, unexpected(err)
		}
	}
	return buf, nil
}

// checkCRCField accepts an empty tail or \x01 followed by decimal digits.
func checkCRCField(tail []byte) error {
	if len(tail) == 0 {
		return nil
	}
	if tail[0] != Sep[0] || len(tail) == 1 || len(tail) > 11 {
		return fmt.Errorf("%w: unexpected bytes after the body: %q", ErrMalformed, tail)
	}
	for _, b := range tail[1:] {
		if b < '0' || b > '9' {
			return fmt.Errorf("%w: unexpected bytes after the body: %q", ErrMalformed, tail)
		}
	}
	return nil
}

// readPlain reads a plain body of n characters, its optional CRC and the marker. The
// marker could in theory occur inside the body, so the frame ends at the first marker
// that follows n complete characters.
func readPlain(r *bufio.Reader, hdr []byte, n, max int) (string, error) {
	var buf []byte
	for {
		line, err := r.ReadSlice('\n')
		buf = append(buf, line...)
		if len(buf) > max+64 {
			return "", fmt.Errorf("%w: frame exceeds the %d-byte cap", ErrMalformed, max)
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return "", unexpected(err)
		}
		if !bytes.HasSuffix(buf, []byte(EndMarker)) {
			continue
		}
		content := buf[:len(buf)-len(EndMarker)]
		end, ok := runeOffset(content, n)
		if !ok {
			continue // the marker was part of the body
		}
		body, tail := content[:end], bytes.TrimSuffix(content[end:], []byte("\n"))
		if !utf8.Valid(body) {
			return "", fmt.Errorf("%w: body is not UTF-8", ErrMalformed)
		}
		if err := checkCRCField(tail); err != nil {
			return "", err
		}
		if len(tail) > 0 && string(tail[1:]) != crc(hdr, body) {
			return "", fmt.Errorf("%w: CRC %s does not match the frame's %s", ErrMalformed, tail[1:], crc(hdr, body))
		}
		return string(body), nil
	}
}

// runeOffset returns the byte offset after the first n characters of b.
func runeOffset(b []byte, n int) (int, bool) {
	i := 0
	for range n {
		if i >= len(b) {
			return 0, false
		}
		_, size := utf8.DecodeRune(b[i:])
		i += size
	}
	return i, true
}

// ReadRequest reads one request frame (header + body + \x01 + CRC + "\n"), at most max
// bytes (DefaultMaxFrame if max ≤ 0), and checks its length and CRC. It serves the fake
// server in baostocktest. A stream that ends before the first byte gives io.EOF.
func ReadRequest(r *bufio.Reader, max int) (Message, error) {
	if max <= 0 {
		max = DefaultMaxFrame
	}
	hdr, version, typ, n, err := readHeader(r, max)
	if err != nil {
		if err == io.EOF { // nothing read: a clean end between frames
			return Message{}, io.EOF
		}
		return Message{}, unexpected(err)
	}
	var buf []byte
	for {
		line, err := r.ReadSlice('\n')
		buf = append(buf, line...)
		if len(buf) > max+64 {
			return Message{}, fmt.Errorf("%w: request exceeds the %d-byte cap", ErrMalformed, max)
		}
		if err == nil {
			break
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return Message{}, unexpected(err)
		}
	}
	content := buf[:len(buf)-1]
	end, ok := runeOffset(content, n)
	if !ok || !utf8.Valid(content[:end]) {
		return Message{}, fmt.Errorf("%w: request body shorter than its %d characters or not UTF-8", ErrMalformed, n)
	}
	body, tail := content[:end], content[end:]
	if err := checkCRCField(tail); err != nil || len(tail) == 0 {
		return Message{}, fmt.Errorf("%w: request without a CRC: %q", ErrMalformed, tail)
	}
	if string(tail[1:]) != crc(hdr, body) {
		return Message{}, fmt.Errorf("%w: request CRC %s, want %s", ErrMalformed, tail[1:], crc(hdr, body))
	}
	return Message{Version: version, Type: typ, Body: string(body)}, nil
}
