package tui

import (
	"context"
	"sync"
)

// mailbox carries items from a goroutine doing I/O (a log follow, the SSH
// pool's notices) to the program: put never blocks — past its capacity the
// oldest items are dropped and counted — and a command waiting on the
// mailbox takes everything pending at once, so a burst costs one message.
type mailbox[T any] struct {
	mu      sync.Mutex
	items   []T
	cap     int
	dropped int
	closed  bool
	notify  chan struct{}
}

func newMailbox[T any](capacity int) *mailbox[T] {
	return &mailbox[T]{cap: capacity, notify: make(chan struct{}, 1)}
}

// put adds an item; it never blocks.
func (b *mailbox[T]) put(items ...T) {
	b.mu.Lock()
	b.items = append(b.items, items...)
	if over := len(b.items) - b.cap; over > 0 {
		b.dropped += over
		b.items = append(b.items[:0], b.items[over:]...)
	}
	b.mu.Unlock()
	b.wake()
}

// close says no more items will come.
func (b *mailbox[T]) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.wake()
}

func (b *mailbox[T]) wake() {
	select {
	case b.notify <- struct{}{}:
	default:
	}
}

// take waits for items (or the end) and returns everything pending, how
// many were dropped since the last take, and whether more may come.
func (b *mailbox[T]) take(ctx context.Context) (items []T, dropped int, open bool) {
	for {
		b.mu.Lock()
		if len(b.items) > 0 || b.dropped > 0 || b.closed {
			items, dropped = b.items, b.dropped
			b.items, b.dropped = nil, 0
			open = !b.closed
			b.mu.Unlock()
			return items, dropped, open
		}
		b.mu.Unlock()
		select {
		case <-b.notify:
		case <-ctx.Done():
			return nil, 0, false
		}
	}
}
