package live

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"
)

// Record is one line of a JSON-lines audit log: what watch, apply or an
// operator did. Fields a line lacks are zero; Raw keeps the line.
type Record struct {
	Time     time.Time     `json:"time"`
	Source   string        `json:"source,omitempty"` // watch, apply, cli, console
	Actor    string        `json:"actor,omitempty"`  // user@host
	Hub      string        `json:"hub,omitempty"`
	Pub      string        `json:"pub,omitempty"`
	Action   string        `json:"action"`
	Reason   string        `json:"reason,omitempty"`
	Result   string        `json:"result,omitempty"`
	Error    string        `json:"error,omitempty"`
	Duration time.Duration `json:"-"`
	Raw      string        `json:"-"`
}

// ParseRecord reads one audit log line. It accepts the usual spellings of
// each field (time/ts, source/by, duration_ms/duration), so that it reads
// any JSON-lines log of actions.
func ParseRecord(line []byte) (Record, error) {
	var m map[string]any
	if err := json.Unmarshal(line, &m); err != nil {
		return Record{}, fmt.Errorf("not a JSON object: %w", err)
	}
	str := func(keys ...string) string {
		for _, k := range keys {
			if v, ok := m[k]; ok {
				switch v := v.(type) {
				case string:
					return v
				case nil:
				default:
					return fmt.Sprint(v)
				}
			}
		}
		return ""
	}
	r := Record{
		Source: str("source", "by", "component"),
		Actor:  str("actor", "user"),
		Hub:    str("hub"),
		Pub:    str("pub"),
		Action: str("action", "event", "msg"),
		Reason: str("reason"),
		Result: str("result", "outcome", "status"),
		Error:  str("error", "err"),
		Raw:    string(bytes.TrimSpace(line)),
	}
	if t := str("time", "ts", "timestamp"); t != "" {
		if v, err := time.Parse(time.RFC3339Nano, t); err == nil {
			r.Time = v
		}
	}
	switch v := m["duration_ms"].(type) {
	case float64:
		r.Duration = time.Duration(v * float64(time.Millisecond))
	default:
		if d, err := time.ParseDuration(str("duration")); err == nil {
			r.Duration = d
		}
	}
	return r, nil
}

// TailOptions tune Tail.
type TailOptions struct {
	// Last is how many of the records already in the file are delivered
	// first (default 200; negative: none).
	Last int
	// Poll is how often the file is checked for growth (default 500ms).
	Poll time.Duration
}

// Tail delivers the last records of the JSON-lines audit log at path, then
// every record appended to it, until ctx is done; the channel is then closed.
// A file that does not exist yet is waited for; a file that shrinks (rotated
// or truncated) is read again from its start. Lines that are not JSON
// objects are delivered with only Raw and Action ("?") set.
func Tail(ctx context.Context, path string, opts TailOptions) <-chan Record {
	if opts.Last == 0 {
		opts.Last = 200
	}
	if opts.Poll <= 0 {
		opts.Poll = 500 * time.Millisecond
	}
	out := make(chan Record, 64)
	go func() {
		defer close(out)
		var (
			off     int64
			partial []byte
			first   = true
		)
		t := time.NewTicker(opts.Poll)
		defer t.Stop()
		for {
			recs, next, rest, err := readFrom(path, off, partial)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				off, partial, first = 0, nil, false
			case err == nil:
				if first && opts.Last >= 0 && len(recs) > opts.Last {
					recs = recs[len(recs)-opts.Last:]
				} else if first && opts.Last < 0 {
					recs = nil
				}
				first = false
				off, partial = next, rest
				for _, r := range recs {
					select {
					case out <- r:
					case <-ctx.Done():
						return
					}
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return out
}

// readFrom reads the complete lines of path from off; partial is an
// unfinished last line read before. It returns the records, the offset to
// read from next and the new unfinished line.
func readFrom(path string, off int64, partial []byte) ([]Record, int64, []byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, off, partial, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, off, partial, err
	}
	if st.Size() < off { // rotated or truncated
		off, partial = 0, nil
	}
	if st.Size() == off {
		return nil, off, partial, nil
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return nil, off, partial, err
	}
	data, err := io.ReadAll(io.LimitReader(f, st.Size()-off))
	if err != nil {
		return nil, off, partial, err
	}
	off += int64(len(data))
	data = append(partial, data...)
	var recs []Record
	end := bytes.LastIndexByte(data, '\n') + 1
	rest := append([]byte(nil), data[end:]...)
	sc := bufio.NewScanner(bytes.NewReader(data[:end]))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		r, err := ParseRecord(line)
		if err != nil {
			r = Record{Action: "?", Raw: string(line)}
		}
		recs = append(recs, r)
	}
	return recs, off, rest, nil
}
