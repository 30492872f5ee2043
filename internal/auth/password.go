// Package auth is marketsync's accounts: password hashing (argon2id), session and API
// token secrets, and the Service that signs people in, checks sessions and tokens,
// limits login attempts and keeps the audit trail. Its rows live in PostgreSQL (store);
// the HTTP side (cookies, CSRF, 401 and 403) is in handlers.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id's costs. DefaultParams follow OWASP's advice for argon2id
// (19 MiB, two passes, one lane): a guess costs an attacker that much memory.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

// DefaultParams are the costs new hashes use.
var DefaultParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1}

const (
	saltLen = 16
	keyLen  = 32
)

// HashPassword hashes pw with argon2id and a random salt into a PHC string:
// $argon2id$v=19$m=19456,t=2,p=1$salt$key.
func HashPassword(pw string) string {
	return hashWith(DefaultParams, pw)
}

func hashWith(p Params, pw string) string {
	salt := make([]byte, saltLen)
	rand.Read(salt)
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// ErrBadHash reports a stored hash that is not one of ours.
var ErrBadHash = errors.New("auth: not an argon2id hash")

// CheckPassword reports whether pw matches hash, in constant time.
func CheckPassword(hash, pw string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, ErrBadHash
	}
	var version int
	var p Params
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, ErrBadHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return false, ErrBadHash
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(key) == 0 {
		return false, ErrBadHash
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// dummyHash is checked against when a login names no account, so that answering
// "wrong name" takes as long as "wrong password".
var dummyHash = HashPassword("marketsync: no such account")

// NewSecret returns a random 256-bit secret in URL-safe base64 after prefix: session ids
// ("" prefix), CSRF tokens and API tokens ("mst_", so a leaked one is recognisable).
func NewSecret(prefix string) string {
	b := make([]byte, 32)
	rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// HashSecret is the SHA-256 of a session id or token: what the database keeps.
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// TokenPrefix starts every API token.
const TokenPrefix = "mst_"

// RandomPassword is a password for a generated account (`make run`'s admin): 26
// base32 characters, 128 random bits.
func RandomPassword() string { return rand.Text() }
