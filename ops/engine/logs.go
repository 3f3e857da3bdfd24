package engine

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
)

// LogsOptions select a container's logs.
type LogsOptions struct {
	Follow     bool
	Since      time.Time // zero: from the start
	Tail       int       // lines from the end; 0 or less: all
	Timestamps bool
}

// Logs copies a managed container's output to stdout and stderr until the
// logs end, or, with Follow, until ctx is done or the container stops.
func (e *Engine) Logs(ctx context.Context, c Container, o LogsOptions, stdout, stderr io.Writer) error {
	if err := e.check(c); err != nil {
		return err
	}
	if err := e.ready(ctx); err != nil {
		return err
	}
	opts := client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Follow: o.Follow, Timestamps: o.Timestamps}
	if !o.Since.IsZero() {
		opts.Since = fmt.Sprintf("%d.%09d", o.Since.Unix(), o.Since.Nanosecond())
	}
	if o.Tail > 0 {
		opts.Tail = strconv.Itoa(o.Tail)
	}
	rc, err := e.api.ContainerLogs(ctx, c.ID, opts)
	if err != nil {
		return e.fail(err, "logs of container "+c.Name)
	}
	defer rc.Close()
	if _, err := stdcopy.StdCopy(stdout, stderr, rc); err != nil && ctx.Err() == nil {
		return e.fail(err, "logs of container "+c.Name)
	}
	return nil
}

// ParseSince reads a --since value: a duration before now ("10m", "1h30m"),
// an RFC 3339 time ("2026-05-01T12:00:00Z"), a date ("2026-05-01", UTC), or
// Unix seconds ("1767225600").
func ParseSince(s string, now time.Time) (time.Time, error) {
	v := strings.TrimSpace(s)
	if d, err := time.ParseDuration(v); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("--since %q is negative: give a duration back from now, like 10m", s)
		}
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, time.UTC); err == nil {
			return t, nil
		}
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil && secs >= 0 {
		return time.Unix(secs, 0), nil
	}
	return time.Time{}, fmt.Errorf("--since %q is not a duration (10m, 2h), a time (2006-01-02T15:04:05Z, 2006-01-02) or Unix seconds", s)
}
