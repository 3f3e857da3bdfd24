package cloud

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gophercloud/gophercloud/v2"
)

// Error is a failed cloud request, explained: what buttctl was doing, what the
// cloud said, and what to change.
type Error struct {
	Op      string // "boot server hub-1", "authenticate at http://..."
	Status  int    // HTTP status, 0 when no answer came
	Message string // the cloud's own message
	Hint    string // what to change
	Quota   bool   // the project's quota is exhausted
	Err     error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	b.WriteString(": ")
	if e.Status != 0 {
		fmt.Fprintf(&b, "%d %s: ", e.Status, http.StatusText(e.Status))
	}
	b.WriteString(e.Message)
	if e.Hint != "" {
		b.WriteString(" (")
		b.WriteString(e.Hint)
		b.WriteString(")")
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// IsNotFound reports whether the cloud answered 404.
func IsNotFound(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Status == http.StatusNotFound
	}
	return gophercloud.ResponseCodeIs(err, http.StatusNotFound)
}

// IsQuota reports whether the project's quota refused the request.
func IsQuota(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Quota
}

// Status is the HTTP status of a failed request (0 when there was none).
func Status(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	var ue gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &ue) {
		return ue.Actual
	}
	return 0
}

// explain turns a gophercloud error into an *Error for operation op.
func explain(err error, op string) error {
	if err == nil {
		return nil
	}
	var already *Error
	if errors.As(err, &already) {
		return err
	}
	e := &Error{Op: op, Err: err}
	var ue gophercloud.ErrUnexpectedResponseCode
	if !errors.As(err, &ue) {
		e.Message = oneLine(err.Error())
		e.Hint = "check that the cloud's auth_url and endpoints are reachable from here"
		return e
	}
	e.Status = ue.Actual
	e.Message = bodyMessage(ue.Body)
	switch {
	case ue.Actual == http.StatusUnauthorized:
		e.Hint = "check the username and password, or the application credential, of this cloud in clouds.yaml / secure.yaml or OS_* variables"
		if e.Message == "" {
			e.Message = "the cloud refused the credentials"
		}
	case ue.Actual == http.StatusForbidden || ue.Actual == http.StatusRequestEntityTooLarge:
		if isQuotaMessage(e.Message) {
			e.Quota = true
			e.Hint = "the project's quota is used up: delete servers you no longer need or ask the cloud's operator to raise the quota"
		} else {
			e.Hint = "the user lacks a role this needs: ask the cloud's operator, or use another project or user"
		}
	case ue.Actual == http.StatusTooManyRequests || ue.Actual >= 500:
		e.Hint = "the cloud kept failing after retries: try again later"
	}
	if e.Message == "" {
		e.Message = http.StatusText(ue.Actual)
	}
	return e
}

func isQuotaMessage(m string) bool {
	m = strings.ToLower(m)
	return strings.Contains(m, "quota") || strings.Contains(m, "limit exceeded")
}

// bodyMessage finds the human message in an OpenStack error body:
// {"forbidden": {"message": ...}} (nova), {"NeutronError": {"message": ...}},
// {"error": {"message": ...}} (keystone), {"message": ...}, or plain text.
func bodyMessage(body []byte) string {
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) == nil {
		if m := stringField(top, "message"); m != "" {
			return oneLine(m)
		}
		for _, v := range top {
			var inner map[string]json.RawMessage
			if json.Unmarshal(v, &inner) == nil {
				if m := stringField(inner, "message"); m != "" {
					return oneLine(m)
				}
			}
		}
	}
	s := oneLine(string(body))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

func stringField(m map[string]json.RawMessage, key string) string {
	var s string
	if raw, ok := m[key]; ok && json.Unmarshal(raw, &s) == nil {
		return s
	}
	return ""
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
