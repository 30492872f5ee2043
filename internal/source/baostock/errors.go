package baostock

import (
	"fmt"

	"github.com/marketsync/marketsync/internal/market"
)

// Error codes Baostock answers (the client's contants.py; upstreams/README.md §2).
const (
	CodeSuccess        = "0"
	CodeNotLoggedIn    = "10001001"
	CodeBadCredentials = "10001002"
	CodeVersionExpired = "10001004"
	CodeLoginLimit     = "10001005"
	CodeNoPermission   = "10001006"
	CodeBlacklisted    = "10001011"
	CodeBadParameter   = "10004006"
	CodeInvalidCode    = "10004011"
	CodeBadMessageType = "10004020"
	CodeSystemError    = "10005001"
)

// MsgBlacklisted is the server's text for CodeBlacklisted.
const MsgBlacklisted = "黑名单用户，请与管理员联系"

// Error is an error answer from Baostock: a reply of type 04, or any reply whose first
// field is not "0". Code and Msg are the server's, verbatim. Errors that retrying cannot
// cure (blacklisted, bad credentials, expired client version, no permission) match
// market.ErrSourceRefused, so the engine fails the batch at once.
type Error struct {
	// Method is the call that failed ("query_history_k_data_plus").
	Method string
	// Code is Baostock's error code ("10001011").
	Code string
	// Msg is Baostock's message ("黑名单用户，请与管理员联系").
	Msg string
}

// Error reads "baostock <method>: error <code> <msg>", with advice where there is some.
func (e *Error) Error() string {
	s := fmt.Sprintf("baostock %s: error %s %s", e.Method, e.Code, e.Msg)
	if a := advice(e.Code); a != "" {
		s += " (" + a + ")"
	}
	return s
}

// Unwrap returns market.ErrSourceRefused for the errors retrying cannot cure.
func (e *Error) Unwrap() error {
	switch e.Code {
	case CodeBlacklisted, CodeBadCredentials, CodeVersionExpired, CodeNoPermission:
		return market.ErrSourceRefused
	}
	return nil
}

// advice says what an operator can do about an error code.
func advice(code string) string {
	switch code {
	case CodeBlacklisted:
		return "Baostock has blacklisted this IP address, usually for parallel connections; " +
			"stop every other Baostock client on this address, use one connection at a time, " +
			"and wait about a day before trying again"
	case CodeBadCredentials:
		return "check BAOSTOCK_USER and BAOSTOCK_PASSWORD; unset, they log in to the public anonymous account"
	case CodeVersionExpired:
		return "the server no longer accepts this client version: set BAOSTOCK_VERSION to the current one (e.g. 00.9.40)"
	case CodeNotLoggedIn:
		return "the session was lost and logging in again did not help"
	}
	return ""
}
