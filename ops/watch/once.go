package watch

import (
	"context"
	"sync"
	"time"

	"github.com/buttctl/buttctl/ops/audit"
	"github.com/buttctl/buttctl/ops/engine"
)

// OnceResult is what one reconcile (Once) did and found.
type OnceResult struct {
	// Records are the actions taken (or, dry-run, that would be).
	Records []audit.Record `json:"records"`
	// State is what the watcher knew at the end.
	State State `json:"state"`
}

// Failed counts the actions that failed and the hubs that could not be asked.
func (r OnceResult) Failed() (actions, hubs int) {
	for _, rec := range r.Records {
		if rec.Result == ResultFailed {
			actions++
		}
	}
	for _, h := range r.State.Hubs {
		if !h.Connected {
			hubs++
		}
	}
	return actions, hubs
}

// Once reconciles every watched hub once — kills, heals, stale copies —
// and returns when nothing is left to do at once (heals that must wait
// out a backoff or a grace are not waited for): for cron. Hubs that do not
// answer are reported, never marked down or reallocated.
func (w *Watcher) Once(ctx context.Context) (OnceResult, error) {
	w.once = true
	unlock, err := w.lock(ctx)
	if err != nil {
		return OnceResult{}, err
	}
	defer unlock()
	g, err := w.load(nil)
	if err != nil {
		return OnceResult{}, err
	}
	w.install(g)
	defer func() {
		cur := w.current()
		cur.users.Wait()
		cur.svc.Close()
		cur.conns.Close()
	}()
	w.notify = newNotifyQueue(w.cfg.Notifiers, nil, func(err error) { w.log.Warn("notification failed", "err", err) })
	var (
		mu      sync.Mutex
		records []audit.Record
	)
	w.onRecord = func(r audit.Record) {
		mu.Lock()
		records = append(records, r)
		mu.Unlock()
	}

	var wg sync.WaitGroup
	for _, h := range w.watchedHubs(g) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			eng, err := g.svc.Engine(h.Name)
			if err == nil {
				pctx, cancel := context.WithTimeout(ctx, w.cfg.ActionTimeout)
				err = w.connectOnce(pctx, h.Name, eng)
				cancel()
			}
			if err != nil {
				w.hubLost(h.Name, err)
			}
		}()
	}
	wg.Wait()
	for _, h := range w.watchedHubs(g) {
		if w.hubConnected(h.Name) {
			eng, _ := g.svc.Engine(h.Name)
			w.reconcileHub(ctx, g, h.Name, eng)
		}
	}
	w.enqueueAll(g)
	for range w.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				key, ok := w.q.TryGet()
				if !ok {
					return
				}
				w.sync(ctx, key)
				w.q.Done(key)
			}
		}()
	}
	wg.Wait()
	w.q.Stop()
	w.mu.Lock()
	w.lastReconcile = time.Now()
	w.mu.Unlock()
	w.notify.close()
	w.writeState(true)
	mu.Lock()
	defer mu.Unlock()
	return OnceResult{Records: records, State: w.State()}, ctx.Err()
}

// connectOnce asks hub's engine who it is, for Once.
func (w *Watcher) connectOnce(ctx context.Context, hub string, eng *engine.Engine) error {
	info, err := eng.Info(ctx)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	h := w.hubLocked(hub)
	h.connected, h.everUp, h.engineID, h.lostAt, h.err = true, true, info.ID, time.Time{}, ""
	return nil
}
