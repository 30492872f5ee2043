package main

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/pgtest"
)

// TestUserAndTokenCommands: accounts and tokens from the terminal; bad input exits 2 and
// changes nothing.
func TestUserAndTokenCommands(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	cmd := func(stdin string, args ...string) (string, error) {
		var stdout, stderr bytes.Buffer
		err := runIO(context.Background(), args, env(db), strings.NewReader(stdin), &stdout, &stderr)
		return stdout.String(), err
	}
	out, err := cmd("alice's password\n", "user", "add", "alice", "--role", "operator")
	require.NoError(t, err)
	require.Equal(t, "user alice added as operator\n", out)
	for _, bad := range []struct {
		stdin string
		args  []string
	}{
		{"alice's password\n", []string{"user", "add", "alice"}},                      // taken
		{"short\n", []string{"user", "add", "bob"}},                                   // too short
		{"", []string{"user", "add", "bob"}},                                          // no password
		{"bob's password\n", []string{"user", "add", "bob", "--role", "root"}},        // no such role
		{"bob's password\n", []string{"user", "add"}},                                 // no name
		{"", []string{"user", "remove", "alice"}},                                     // no such subcommand
		{"", []string{"token", "add", "alice", "--role", "admin"}},                    // more than alice's role
		{"", []string{"token", "add", "nobody"}},                                      // no such user
		{"", []string{"token", "revoke", "x"}},                                        // not an id
		{"", []string{"token", "revoke", "999"}},                                      // no such token
		{"", []string{"token", "add", "alice", "--role", "operator", "--bogus", "1"}}, // unknown flag
	} {
		_, err := cmd(bad.stdin, bad.args...)
		require.Equal(t, 2, code(err), "%v: %v", bad.args, err)
	}
	out, err = cmd("", "user", "list")
	require.NoError(t, err)
	require.Regexp(t, `(?m)^alice\s+operator\s+enabled\s+never$`, out)
	require.NotContains(t, out, "bob")

	secret, err := cmd("", "token", "add", "alice", "--role", "viewer", "--name", "nightly")
	require.NoError(t, err)
	require.Regexp(t, `^mst_[A-Za-z0-9_-]{43}\n$`, secret)
	out, err = cmd("", "token", "list", "alice")
	require.NoError(t, err)
	require.Contains(t, out, "nightly")
	require.NotContains(t, out, strings.TrimSpace(secret), "never listed")
	id := regexp.MustCompile(`(?m)^(\d+)\s+alice`).FindStringSubmatch(out)
	require.NotNil(t, id, out)
	out, err = cmd("", "token", "revoke", id[1])
	require.NoError(t, err)
	require.Contains(t, out, "revoked")

	out, err = cmd("a new long password\n", "user", "password", "alice")
	require.NoError(t, err)
	require.Contains(t, out, "password of alice changed")
}

// TestServeCreatesTheFirstAdminOnce: `serve --init-admin` (make run) on a database without
// accounts creates admin with a random password and prints it once; the next start does
// not.
func TestServeCreatesTheFirstAdminOnce(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	serve := func() string {
		var stderr syncBuffer
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--workers", "0", "--init-admin"}, env(db), io.Discard, &stderr)
		}()
		require.Eventually(t, func() bool { return strings.Contains(stderr.String(), "serving http") }, 30*time.Second, 50*time.Millisecond)
		cancel()
		require.NoError(t, <-done)
		return stderr.String()
	}
	first := serve()
	m := regexp.MustCompile(`first account created:  user admin  password (\S+)`).FindStringSubmatch(first)
	require.NotNil(t, m, first)
	require.Equal(t, 1, strings.Count(first, m[1]), "printed once, and not logged")
	second := serve()
	require.NotContains(t, second, "first account created")
	require.NotContains(t, second, m[1])

	out, err := func() (string, error) {
		var stdout bytes.Buffer
		err := runIO(context.Background(), []string{"user", "list"}, env(db), strings.NewReader(""), &stdout, io.Discard)
		return stdout.String(), err
	}()
	require.NoError(t, err)
	require.Regexp(t, `(?m)^admin\s+admin\s+enabled`, out)
}
