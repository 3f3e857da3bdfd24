package watch

import (
	"context"
	"sync"
	"time"
)

// queue holds the pubs waiting to be synced, as Kubernetes' work queue
// does: a pub is in it at most once, is handed to one worker at a time, and
// a pub added while a worker has it is handed out again once it is done.
// AddAfter defers an add (a backoff, a grace period) without holding a
// worker; the earliest deferral of a pub wins.
type queue struct {
	mu      sync.Mutex
	ready   []string
	queued  map[string]bool
	active  map[string]bool
	dirty   map[string]bool
	timers  map[string]*time.Timer
	due     map[string]time.Time
	wake    chan struct{}
	stopped bool
}

func newQueue() *queue {
	return &queue{
		queued: map[string]bool{}, active: map[string]bool{}, dirty: map[string]bool{},
		timers: map[string]*time.Timer{}, due: map[string]time.Time{}, wake: make(chan struct{}, 1),
	}
}

// Add queues key now.
func (q *queue) Add(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.addLocked(key)
}

func (q *queue) addLocked(key string) {
	if q.stopped {
		return
	}
	if t, ok := q.timers[key]; ok {
		t.Stop()
		delete(q.timers, key)
		delete(q.due, key)
	}
	if q.active[key] {
		q.dirty[key] = true
		return
	}
	if q.queued[key] {
		return
	}
	q.queued[key] = true
	q.ready = append(q.ready, key)
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// AddAfter queues key after d, unless it is due earlier already.
func (q *queue) AddAfter(key string, d time.Duration) {
	if d <= 0 {
		q.Add(key)
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.stopped || q.queued[key] {
		return
	}
	at := time.Now().Add(d)
	if due, ok := q.due[key]; ok && !due.After(at) {
		return
	}
	if t, ok := q.timers[key]; ok {
		t.Stop()
	}
	q.due[key] = at
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		if q.timers[key] != t {
			return
		}
		delete(q.timers, key)
		delete(q.due, key)
		q.addLocked(key)
	})
	q.timers[key] = t
}

// Get waits for a key to work on (and marks it active) until ctx is done.
func (q *queue) Get(ctx context.Context) (string, bool) {
	for {
		q.mu.Lock()
		if len(q.ready) > 0 {
			key := q.ready[0]
			q.ready = q.ready[1:]
			delete(q.queued, key)
			q.active[key] = true
			if len(q.ready) > 0 {
				select {
				case q.wake <- struct{}{}:
				default:
				}
			}
			q.mu.Unlock()
			return key, true
		}
		q.mu.Unlock()
		select {
		case <-q.wake:
		case <-ctx.Done():
			return "", false
		}
	}
}

// Done says a worker finished with key; if it was added meanwhile, it is
// queued again.
func (q *queue) Done(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.active, key)
	if q.dirty[key] {
		delete(q.dirty, key)
		q.addLocked(key)
	}
}

// Idle reports whether nothing is queued or being worked on now (deferred
// adds aside).
func (q *queue) Idle() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.ready) == 0 && len(q.active) == 0
}

// Due returns when key is next deferred to, if it is.
func (q *queue) Due(key string) (time.Time, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	at, ok := q.due[key]
	return at, ok
}

// Stop drops every deferred add; adds after it are ignored.
func (q *queue) Stop() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.stopped = true
	for k, t := range q.timers {
		t.Stop()
		delete(q.timers, k)
	}
}

// TryGet is Get without waiting: false when nothing is ready.
func (q *queue) TryGet() (string, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.ready) == 0 {
		return "", false
	}
	key := q.ready[0]
	q.ready = q.ready[1:]
	delete(q.queued, key)
	q.active[key] = true
	return key, true
}
