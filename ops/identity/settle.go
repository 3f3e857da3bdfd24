package identity

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/buttctl/buttctl/ops/engine"
	"github.com/buttctl/buttctl/ops/pubs"
	"github.com/buttctl/buttctl/ops/pubspec"
)

// Settle settles an interrupted move of pub, if the store has one: undone
// if the inventory still places the pub on the source (the pub runs there
// again), finished if it places it on the target. It says what it did (""
// for nothing). Move settles an earlier move by itself; watch calls Settle.
func Settle(ctx context.Context, svc *pubs.Service, store *Store, pub string) (string, error) {
	unlock, err := store.lockPub(pub, "buttctl pub move (settling)")
	if err != nil {
		return "", pubError(pub, "", err)
	}
	defer unlock()
	j, ok, err := store.MoveJournal(pub)
	if err != nil || !ok {
		return "", err
	}
	return settle(ctx, svc, store, &j, false)
}

// settle brings the journaled move j to rest and updates its journal.
func settle(ctx context.Context, svc *pubs.Service, store *Store, j *Journal, _ bool) (string, error) {
	if j.State != JournalMoving {
		note := removeLeftovers(ctx, svc, j)
		return note, saveOrDelete(store, j)
	}
	cur, err := currentHub(svc, j.Pub)
	if err != nil {
		return "", pubError(j.Pub, "", err)
	}
	switch cur {
	case j.To:
		return forward(ctx, svc, store, j)
	case j.From:
		return back(ctx, svc, store, j)
	}
	return "", pubError(j.Pub, cur, fmt.Errorf("an interrupted move from %s to %s is journaled in %s, but the inventory now places the pub on %s: settle it by hand (make sure exactly one container of the pub runs), then delete that file", j.From, j.To, store.journalPath(j.Pub), cur))
}

func saveOrDelete(store *Store, j *Journal) error {
	if j.State != JournalMoving && len(j.KeptVolumes) == 0 {
		return store.deleteJournal(j.Pub)
	}
	return store.saveJournal(*j)
}

// forward finishes a move whose inventory update was written: the target
// runs the pub, with its restart policy; the source container goes.
func forward(ctx context.Context, svc *pubs.Service, store *Store, j *Journal) (string, error) {
	fail := func(err error) (string, error) {
		return "", pubError(j.Pub, j.To, fmt.Errorf("the inventory places the pub on %s (the move from %s was written), but %v: run 'buttctl pub move %s --to %s' again to finish it", j.To, j.From, err, j.Pub, j.To))
	}
	p, err := svc.Lookup(j.Pub)
	if err != nil {
		return "", err
	}
	spec, err := specOn(svc, p, j.To)
	if err != nil {
		return fail(err)
	}
	dst, err := svc.Engine(j.To)
	if err != nil {
		return fail(err)
	}
	c, err := dst.PubContainer(ctx, j.Pub)
	if err != nil {
		return fail(err)
	}
	if c.State != "running" {
		if err := dst.Start(ctx, c); err != nil {
			return fail(err)
		}
	}
	id, err := waitWhoami(ctx, svc, dst, j.Pub, spec.Image)
	if err != nil {
		return fail(err)
	}
	if id != j.ID {
		return fail(fmt.Errorf("it answers whoami with %s, not %s", id, j.ID))
	}
	if err := dst.SetRestartPolicy(ctx, c, restartPolicy(spec)); err != nil {
		return fail(err)
	}
	note := fmt.Sprintf("finished the move from %s to %s (it had stopped at step %s)", j.From, j.To, j.Step)
	var problems []string
	src, err := svc.Engine(j.From)
	if err == nil {
		var sc engine.Container
		if sc, err = src.PubContainer(ctx, j.Pub); err == nil {
			err = src.Remove(ctx, sc)
		} else if engine.IsNotFound(err) {
			err = nil
		}
	}
	kept := HubVolume{Hub: j.From, Volume: pubspec.VolumeName(j.Pub)}
	if err != nil {
		kept.Container = true
		problems = append(problems, fmt.Sprintf("could not remove the stopped source container on %s (%v)", j.From, trimHub(err, j.From)))
	} else if j.PurgeSource {
		if err := src.RemoveVolume(ctx, kept.Volume, j.Pub); err != nil {
			problems = append(problems, fmt.Sprintf("could not remove the source volume on %s (%v)", j.From, trimHub(err, j.From)))
		} else {
			kept = HubVolume{}
		}
	}
	if kept.Hub != "" {
		j.KeptVolumes = append(slices.DeleteFunc(j.KeptVolumes, func(v HubVolume) bool { return v.Hub == kept.Hub }), kept)
	}
	j.State = JournalDone
	if err := saveOrDelete(store, j); err != nil {
		return note, err
	}
	if len(problems) > 0 {
		return note, pubError(j.Pub, j.To, fmt.Errorf("the pub runs on %s and the inventory names it, but %s: run 'buttctl pub move %s --to %s --purge-source' when %s answers", j.To, strings.Join(problems, "; "), j.Pub, j.To, j.From))
	}
	return note, nil
}

// back undoes a move the inventory does not record: what was made on the
// target goes, and the source gets its restart policy back and runs again
// if it ran. If the target may have started the pub and cannot be cleared,
// the source is left stopped: never two live copies.
func back(ctx context.Context, svc *pubs.Service, store *Store, j *Journal) (string, error) {
	p, err := svc.Lookup(j.Pub)
	if err != nil {
		return "", err
	}
	var notes []string
	step := j.Step.Index()
	if step >= StepCreateTarget.Index() {
		spec, err := specOn(svc, p, j.To)
		if err == nil {
			var dst *engine.Engine
			if dst, err = svc.Engine(j.To); err == nil {
				err = removeCreated(ctx, dst, spec)
			}
		}
		switch {
		case err == nil:
			notes = append(notes, "removed what it had made on "+j.To)
		case step >= StepStartTarget.Index():
			return "", pubError(j.Pub, j.From, fmt.Errorf("the pub may have started on %s and its container there could not be removed (%v), so it stays stopped on %s, where the inventory places it: when %s answers, run 'buttctl pub move %s --to %s' again", j.To, trimHub(err, j.To), j.From, j.To, j.Pub, j.To))
		default:
			// Never started, restart policy "no": it cannot run by itself.
			j.KeptVolumes = append(slices.DeleteFunc(j.KeptVolumes, func(v HubVolume) bool { return v.Hub == j.To }),
				HubVolume{Hub: j.To, Volume: spec.Volume, Container: true})
			notes = append(notes, fmt.Sprintf("left a never-started container and a partial volume on %s (%v): the next move of the pub removes them", j.To, trimHub(err, j.To)))
		}
	}
	if step >= StepStopSource.Index() {
		if err := restartSource(ctx, svc, j); err != nil {
			return "", pubError(j.Pub, j.From, fmt.Errorf("%s; but %v: the inventory still places it on %s; run 'buttctl pub start %s' when %s answers", strings.Join(notes, "; "), err, j.From, j.Pub, j.From))
		}
		if j.SourceWasRunning {
			notes = append(notes, "the pub runs on "+j.From+" again")
		} else {
			notes = append(notes, "the pub is back as it was on "+j.From)
		}
	}
	j.State = JournalUndone
	if err := saveOrDelete(store, j); err != nil {
		return "", err
	}
	return "undone: " + strings.Join(notes, "; "), nil
}

// restartSource gives the source container its restart policy back and
// starts it if it ran before the move, checking its identity.
func restartSource(ctx context.Context, svc *pubs.Service, j *Journal) error {
	src, err := svc.Engine(j.From)
	if err != nil {
		return err
	}
	c, err := src.PubContainer(ctx, j.Pub)
	if err != nil {
		return err
	}
	if j.SourceRestart.Name != "" {
		if err := src.SetRestartPolicy(ctx, c, j.SourceRestart); err != nil {
			return err
		}
	}
	if !j.SourceWasRunning {
		return nil
	}
	if c.State != "running" {
		if err := src.Start(ctx, c); err != nil {
			return err
		}
	}
	image := c.Image
	if ins, err := src.Inspect(ctx, c); err == nil && ins.Config != nil {
		image = ins.Config.Image
	}
	id, err := waitWhoami(ctx, svc, src, j.Pub, image)
	if err != nil {
		return err
	}
	if j.ID != "" && id != j.ID {
		return fmt.Errorf("it answers whoami with %s, not %s", id, j.ID)
	}
	return nil
}

// removeLeftovers removes the never-started containers and partial volumes
// undone moves left on hubs that were unreachable then.
func removeLeftovers(ctx context.Context, svc *pubs.Service, j *Journal) string {
	var removed []string
	j.KeptVolumes = slices.DeleteFunc(j.KeptVolumes, func(v HubVolume) bool {
		if !v.Container || v.Hub == "" {
			return false
		}
		cur, err := currentHub(svc, j.Pub)
		if err != nil || cur == v.Hub {
			return false
		}
		p, err := svc.Lookup(j.Pub)
		if err != nil {
			return false
		}
		spec, err := specOn(svc, p, v.Hub)
		if err != nil {
			return false
		}
		e, err := svc.Engine(v.Hub)
		if err != nil {
			return false
		}
		if removeCreated(ctx, e, spec) != nil {
			return false
		}
		removed = append(removed, v.Hub)
		return true
	})
	if len(removed) == 0 {
		return ""
	}
	return "removed what an interrupted move had left on " + strings.Join(removed, ", ")
}

// purgeKept removes, if purge, the volumes earlier moves left on other hubs,
// once the pub is seen running with its recorded identity on its hub.
func purgeKept(ctx context.Context, svc *pubs.Service, store *Store, pub string, purge bool, res *MoveResult) error {
	j, ok, err := store.MoveJournal(pub)
	if err != nil || !ok || len(j.KeptVolumes) == 0 {
		res.SourcePurged = purge
		return err
	}
	if !purge {
		return nil
	}
	hub := res.From
	fail := func(err error) error { return pubError(pub, hub, err) }
	want, err := store.Get(pub)
	if err != nil {
		return fail(err)
	}
	e, err := svc.Engine(hub)
	if err != nil {
		return fail(err)
	}
	c, err := e.PubContainer(ctx, pub)
	if err != nil {
		return fail(fmt.Errorf("not purging the volumes left on other hubs: %w", err))
	}
	id, err := whoami(ctx, svc, e, c, c.Image)
	if err != nil {
		return fail(fmt.Errorf("not purging the volumes left on other hubs: the pub does not answer whoami here (%v)", err))
	}
	if id != want.ID {
		return fail(fmt.Errorf("not purging the volumes left on other hubs: the pub answers whoami with %s, but its recorded identity is %s", id, want.ID))
	}
	var problems []string
	j.KeptVolumes = slices.DeleteFunc(j.KeptVolumes, func(v HubVolume) bool {
		if v.Hub == hub {
			return false
		}
		e, err := svc.Engine(v.Hub)
		if err == nil {
			var c engine.Container
			if c, err = e.PubContainer(ctx, pub); err == nil {
				err = e.Remove(ctx, c)
			} else if engine.IsNotFound(err) {
				err = nil
			}
			if err == nil {
				err = e.RemoveVolume(ctx, v.Volume, pub)
			}
		}
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s (%v)", v.Hub, trimHub(err, v.Hub)))
			return false
		}
		return true
	})
	if err := saveOrDelete(store, &j); err != nil {
		return fail(err)
	}
	if len(problems) > 0 {
		return fail(fmt.Errorf("could not remove the pub's volume on %s: run this again when it answers", strings.Join(problems, ", ")))
	}
	res.SourcePurged = true
	return nil
}

func trimHub(err error, hub string) string {
	if err == nil {
		return ""
	}
	return strings.TrimPrefix(err.Error(), hub+": ")
}
