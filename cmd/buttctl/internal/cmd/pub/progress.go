package pub

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// progress shows a byte count and rate on one terminal line, at most ten
// times a second; off a terminal it shows nothing.
type progress struct {
	w     io.Writer
	label string
	on    bool

	mu    sync.Mutex
	start time.Time
	last  time.Time
	n     int64
	shown bool
}

func newProgress(w io.Writer, tty bool, label string) *progress {
	return &progress{w: w, label: label, on: tty, start: time.Now()}
}

// Set records n bytes done (it may be called from any goroutine).
func (p *progress) Set(n int64) {
	if p == nil || !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n = n
	if now := time.Now(); now.Sub(p.last) >= 100*time.Millisecond {
		p.last = now
		p.draw(now)
	}
}

func (p *progress) draw(now time.Time) {
	rate := ""
	if secs := now.Sub(p.start).Seconds(); secs > 0.2 {
		rate = fmt.Sprintf(" (%s/s)", byteSize(int64(float64(p.n)/secs)))
	}
	fmt.Fprintf(p.w, "\r\033[K%s %s%s", p.label, byteSize(p.n), rate)
	p.shown = true
}

// Done ends the progress line.
func (p *progress) Done() {
	if p == nil || !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

// byteSize is n in B, kB, MB, GB (powers of 1000, one decimal).
func byteSize(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}

// interruptible is ctx, cancelled by SIGINT or SIGTERM: an operation that
// changes hubs then undoes or finishes its step instead of dying midway.
func interruptible(ctx context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
}
