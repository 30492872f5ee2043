package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/term"

	"github.com/marketsync/marketsync/internal/auth"
	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/store"
)

// openAccounts connects to the database for the user and token commands. It does not
// create one: a mistyped DATABASE_URL must not leave an empty warehouse behind and then
// report "no such user".
func openAccounts(ctx context.Context, getenv func(string) string) (*pgxpool.Pool, *auth.Service, error) {
	url := databaseURL(getenv)
	pool, err := store.Open(ctx, url, 2)
	if err != nil {
		if store.IsMissingDatabase(err) {
			return nil, nil, usageError("%s does not exist: check DATABASE_URL, or create it with marketsync migrate", store.DescribeURL(url))
		}
		return nil, nil, err
	}
	if _, err := store.Migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, nil, err
	}
	return pool, auth.New(pool, nil), nil
}

// cliActor is who acts from the terminal, for the audit trail: the operating system's
// user on this host.
func cliActor() market.Actor {
	who := os.Getenv("USER")
	if who == "" {
		who = "cli"
	}
	return market.Actor{By: market.OriginCLI, From: hostname(), User: who}
}

// accountError turns the service's input errors and conflicts into usage errors (exit 2).
func accountError(cmd string, err error) error {
	if market.IsInputError(err) || errors.Is(err, market.ErrConflict) || errors.Is(err, market.ErrNotFound) {
		return usageError("%s: %s", cmd, market.Reason(err))
	}
	return err
}

// runUser is `marketsync user add NAME [--role R]`, `user password NAME` and `user list`.
func runUser(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError("user: want add, password or list")
	}
	sub, rest := args[0], args[1:]
	fs := flag.NewFlagSet("user "+sub, flag.ContinueOnError)
	role := fs.String("role", "viewer", "the account's role: viewer, operator or admin")
	name, rest := leadingArg(rest)
	if err := parseFlags(fs, rest); err != nil {
		return err
	}
	if (sub == "add" || sub == "password") && name == "" {
		return usageError("user %s: name the user, e.g. marketsync user %s alice", sub, sub)
	}
	r, err := market.ParseRole(*role)
	if err != nil {
		return usageError("user %s: --role: %v", sub, err)
	}
	if sub != "add" && sub != "password" && sub != "list" {
		return usageError("user: unknown subcommand %q (add, password or list)", sub)
	}
	pool, svc, err := openAccounts(ctx, getenv)
	if err != nil {
		return err
	}
	defer pool.Close()
	switch sub {
	case "list":
		return listUsers(ctx, svc, stdout)
	case "add":
		pw, err := readPassword(stdin, stderr, "password for "+name)
		if err != nil {
			return err
		}
		if _, err := svc.AddUser(ctx, cliActor(), name, r, pw); err != nil {
			return accountError("user add", err)
		}
		fmt.Fprintf(stdout, "user %s added as %s\n", name, r)
		return nil
	}
	u, err := store.UserByName(ctx, pool, name)
	if err != nil {
		return accountError("user password", err)
	}
	pw, err := readPassword(stdin, stderr, "new password for "+name)
	if err != nil {
		return err
	}
	if err := svc.SetPassword(ctx, cliActor(), nil, u.ID, "", pw); err != nil {
		return accountError("user password", err)
	}
	fmt.Fprintf(stdout, "password of %s changed; their sessions ended\n", name)
	return nil
}

func listUsers(ctx context.Context, svc *auth.Service, stdout io.Writer) error {
	users, err := svc.Users(ctx)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tROLE\tSTATE\tLAST LOGIN")
	for _, u := range users {
		state, last := "enabled", "never"
		if u.Disabled {
			state = "disabled"
		}
		if u.LastLoginAt != nil {
			last = u.LastLoginAt.In(market.ExchangeZone).Format("2006-01-02 15:04")
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", u.Name, u.Role, state, last)
	}
	return w.Flush()
}

// runToken is `marketsync token add USER [--role R] [--name N]`, `token list [USER]` and
// `token revoke ID`.
func runToken(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageError("token: want add, list or revoke")
	}
	sub, rest := args[0], args[1:]
	fs := flag.NewFlagSet("token "+sub, flag.ContinueOnError)
	role := fs.String("role", "", "the token's role, at most the user's (default: the user's)")
	name := fs.String("name", "cli", "what the token is for, e.g. \"nightly cron\"")
	arg, rest := leadingArg(rest)
	if err := parseFlags(fs, rest); err != nil {
		return err
	}
	switch sub {
	case "add", "revoke":
		if arg == "" {
			return usageError("token %s: want a %s", sub, map[string]string{"add": "user name", "revoke": "token id"}[sub])
		}
	case "list":
	default:
		return usageError("token: unknown subcommand %q (add, list or revoke)", sub)
	}
	var r market.Role
	if *role != "" {
		var err error
		if r, err = market.ParseRole(*role); err != nil {
			return usageError("token add: --role: %v", err)
		}
	}
	pool, svc, err := openAccounts(ctx, getenv)
	if err != nil {
		return err
	}
	defer pool.Close()
	switch sub {
	case "add":
		t, err := svc.AddToken(ctx, cliActor(), arg, *name, r)
		if err != nil {
			return accountError("token add", err)
		}
		fmt.Fprintln(stdout, t.Secret)
		return nil
	case "revoke":
		id, err := strconv.ParseInt(arg, 10, 64)
		if err != nil {
			return usageError("token revoke: %q is not a token id (see marketsync token list)", arg)
		}
		if err := svc.RevokeToken(ctx, cliActor(), id, 0); err != nil {
			return accountError("token revoke", err)
		}
		fmt.Fprintf(stdout, "token %d revoked\n", id)
		return nil
	}
	return listTokens(ctx, pool, svc, arg, stdout)
}

func listTokens(ctx context.Context, pool *pgxpool.Pool, svc *auth.Service, user string, stdout io.Writer) error {
	var uid int64
	if user != "" {
		u, err := store.UserByName(ctx, pool, user)
		if err != nil {
			return accountError("token list", err)
		}
		uid = u.ID
	}
	tokens, err := svc.Tokens(ctx, uid)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tUSER\tNAME\tROLE\tSTARTS\tLAST USED\tREVOKED")
	for _, t := range tokens {
		last, revoked := "never", ""
		if t.LastUsedAt != nil {
			last = t.LastUsedAt.In(market.ExchangeZone).Format("2006-01-02 15:04")
		}
		if t.RevokedAt != nil {
			revoked = t.RevokedAt.In(market.ExchangeZone).Format("2006-01-02 15:04")
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.UserName, t.Name, t.Role, t.Hint, last, revoked)
	}
	return w.Flush()
}

// leadingArg splits off a first argument that is not a flag (user add NAME --role …).
func leadingArg(args []string) (string, []string) {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return args[0], args[1:]
	}
	return "", args
}

// readPassword reads a password: from a terminal without echo, twice; otherwise the
// first line of stdin (scripts: echo "$PW" | marketsync user add alice).
func readPassword(stdin io.Reader, stderr io.Writer, prompt string) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(stderr, "%s: ", prompt)
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		fmt.Fprint(stderr, "again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		if string(a) != string(b) {
			return "", usageError("the passwords differ")
		}
		return string(a), nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", usageError("no password on stdin (pipe one in, or run this in a terminal)")
	}
	return line, nil
}
