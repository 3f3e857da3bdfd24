package pubs

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"sync"

	"github.com/buttctl/buttctl/ops/engine"
)

// LogsOptions select a pub's logs.
type LogsOptions struct {
	Follow bool
	// Since is a duration back from now ("10m"), a time ("2026-05-01T12:00:00Z",
	// "2026-05-01") or Unix seconds; "" for all.
	Since string
	// Tail is the number of lines from the end; 0 for all.
	Tail int
	// Grep keeps only the lines it matches (nil: every line).
	Grep       *regexp.Regexp
	Timestamps bool
}

// Logs copies the pub's logs to stdout and stderr (as the pub wrote them),
// until they end or, with Follow, until ctx is done or the pub stops.
func (s *Service) Logs(ctx context.Context, name string, o LogsOptions, stdout, stderr io.Writer) error {
	t, err := s.target(name)
	if err != nil {
		return err
	}
	if o.Tail < 0 {
		return t.fail(badInput("--tail %d: give a number of lines, 0 or more", o.Tail))
	}
	eo := engine.LogsOptions{Follow: o.Follow, Tail: o.Tail, Timestamps: o.Timestamps}
	if o.Since != "" {
		if eo.Since, err = engine.ParseSince(o.Since, s.Now()); err != nil {
			return t.fail(badInput("%v", err))
		}
	}
	c, err := s.container(ctx, t)
	if err != nil {
		return err
	}
	if o.Grep != nil {
		out, errOut := &lineFilter{w: stdout, re: o.Grep}, &lineFilter{w: stderr, re: o.Grep}
		defer out.Flush()
		defer errOut.Flush()
		stdout, stderr = out, errOut
	}
	return t.fail(t.eng.Logs(ctx, c, eo, stdout, stderr))
}

// lineFilter passes on the whole lines that re matches.
type lineFilter struct {
	w   io.Writer
	re  *regexp.Regexp
	mu  sync.Mutex
	buf []byte
}

func (f *lineFilter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.buf = append(f.buf, p...)
	for {
		i := bytes.IndexByte(f.buf, '\n')
		if i < 0 {
			break
		}
		line := f.buf[:i+1]
		if f.re.Match(line[:i]) {
			if _, err := f.w.Write(line); err != nil {
				return len(p), err
			}
		}
		f.buf = f.buf[i+1:]
	}
	return len(p), nil
}

// Flush passes on the last line if it has no newline and matches.
func (f *lineFilter) Flush() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.buf) > 0 && f.re.Match(f.buf) {
		_, _ = f.w.Write(append(f.buf, '\n'))
	}
	f.buf = nil
}
