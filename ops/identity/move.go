package identity

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/engine"
	"github.com/buttctl/buttctl/ops/pubs"
	"github.com/buttctl/buttctl/ops/pubspec"
)

// Step is one step of a move, in the order of Steps.
type Step string

// The steps of a move. Until StepUpdateInventory has written the
// inventory, a failure undoes the move (the pub runs on the source again);
// from then on the target is the truth and a failure is finished forward.
const (
	StepCheck           Step = "check"            // nothing changes: source, target, image, identity
	StepSaveIdentity    Step = "save-identity"    // the secret is copied into the local identity store
	StepCreateTarget    Step = "create-target"    // target: image, network, volume, container (restart "no", not started)
	StepStopSource      Step = "stop-source"      // source: restart policy "no", stopped
	StepCopy            Step = "copy"             // the data streamed from source to target
	StepVerifySecret    Step = "verify-secret"    // the target's secret file is the source's (sha256)
	StepStartTarget     Step = "start-target"     // target started
	StepWhoami          Step = "whoami"           // the target answers whoami with the same identity
	StepUpdateInventory Step = "update-inventory" // the inventory places the pub on the target: the commit
	StepRestartPolicy   Step = "restart-policy"   // the target gets the spec's restart policy
	StepRemoveSource    Step = "remove-source"    // the source container is removed
	StepPurgeSource     Step = "purge-source"     // with PurgeSource: the source volume is removed
)

// Steps lists the steps of a move in order.
var Steps = []Step{StepCheck, StepSaveIdentity, StepCreateTarget, StepStopSource, StepCopy, StepVerifySecret,
	StepStartTarget, StepWhoami, StepUpdateInventory, StepRestartPolicy, StepRemoveSource, StepPurgeSource}

// Index is the position of s in Steps (-1 if it is not a step).
func (s Step) Index() int { return slices.Index(Steps, s) }

// MoveOptions tune Move.
type MoveOptions struct {
	// To is the hub to move the pub to.
	To string
	// PurgeSource removes the source volume once the pub runs on To.
	PurgeSource bool
	// Progress, if set, is told the bytes of data copied so far.
	Progress func(n int64)
	// Report, if set, is told of each step done.
	Report func(step Step, detail string)
	// BeforeStep, if set, runs before each step; an error fails the move
	// there. Only tests set it: it is how they interrupt a move at each step.
	BeforeStep func(step Step) error
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// MoveResult says what Move did.
type MoveResult struct {
	Pub  string `json:"pub"`
	From string `json:"from"`
	To   string `json:"to"`
	ID   string `json:"id"`
	// Bytes is the size of the data archive copied.
	Bytes int64 `json:"bytes"`
	// ImageFrom names the hub the image was copied from, if the target lacked it.
	ImageFrom string `json:"image_from,omitempty"`
	// SourceVolume is the volume left on From, unless SourcePurged.
	SourceVolume string `json:"source_volume"`
	SourcePurged bool   `json:"source_purged"`
	// AlreadyThere: the inventory already placed the pub on To.
	AlreadyThere bool `json:"already_there,omitempty"`
	// Settled says what was done about an earlier, interrupted move.
	Settled  string        `json:"settled,omitempty"`
	Duration time.Duration `json:"duration_ns"`
}

// Move moves pub name to hub o.To: it stops the pub on its hub, streams its
// data directory straight from the source engine to the target engine (no
// temporary copy anywhere), creates and starts it on the target, checks
// that it answers whoami with the same identity, places it on the target
// in the inventory, then removes the source container; the source volume is
// kept unless PurgeSource. Every step is journaled in the store first: a
// failure before the inventory is written undoes the move (the pub runs on
// the source again), one after it finishes the move forward, and a move
// killed outright is settled by the next Move of that pub.
func Move(ctx context.Context, svc *pubs.Service, store *Store, name string, o MoveOptions) (res MoveResult, err error) {
	rec := svc.Begin("move", name)
	defer func() {
		rec.Hub, rec.From, rec.Identity = o.To, res.From, res.ID
		rec.End(&err)
	}()
	start := time.Now()
	if o.Now == nil {
		o.Now = time.Now
	}
	res = MoveResult{Pub: name, To: o.To, SourceVolume: pubspec.VolumeName(name)}
	p, err := svc.Lookup(name)
	if err != nil {
		return res, err
	}
	if _, ok := svc.Inventory().Hub(o.To); !ok {
		return res, pubError(name, "", fmt.Errorf("hub %s is not in the inventory %s: %w", o.To, svc.Inventory().Path, pubs.ErrBadInput))
	}
	unlock, err := store.lockPub(name, "buttctl pub move")
	if err != nil {
		return res, pubError(name, "", err)
	}
	defer unlock()

	var kept []HubVolume
	if j, ok, err := store.MoveJournal(name); err != nil {
		return res, pubError(name, "", err)
	} else if ok {
		note, err := settle(ctx, svc, store, &j, false)
		res.Settled = note
		if err != nil {
			return res, err
		}
		kept = j.KeptVolumes
	}
	from, err := currentHub(svc, name)
	if err != nil {
		return res, pubError(name, "", err)
	}
	if from == o.To {
		// The inventory may have been edited first: then the pub still
		// runs elsewhere, and the inventory is set back to where it runs.
		runsOn, err := whereItRuns(ctx, svc, name, o.To)
		if err != nil {
			return res, pubError(name, o.To, err)
		}
		if runsOn != "" {
			if err := setPubHub(ctx, svc, name, o.To, runsOn, "buttctl pub move"); err != nil {
				return res, pubError(name, runsOn, err)
			}
			res.Settled = fmt.Sprintf("the inventory placed the pub on %s already, but it was on %s: set its hub back to %s to move it from there", o.To, runsOn, runsOn)
			from = runsOn
		}
	}
	res.From = from
	if from == o.To {
		res.AlreadyThere = true
		err := purgeKept(ctx, svc, store, name, o.PurgeSource, &res)
		res.Duration = time.Since(start)
		return res, err
	}
	m := &mover{svc: svc, store: store, o: o, res: &res, pub: p, j: Journal{
		Pub: name, From: from, To: o.To, Started: o.Now().UTC(), State: JournalMoving,
		PurgeSource: o.PurgeSource, KeptVolumes: kept,
	}}
	err = m.run(ctx)
	res.Duration = time.Since(start)
	return res, err
}

// mover carries out one move.
type mover struct {
	svc   *pubs.Service
	store *Store
	o     MoveOptions
	res   *MoveResult
	pub   inventory.Pub
	j     Journal

	src, dst         *engine.Engine
	srcC             engine.Container
	srcDir           string
	spec             pubspec.Spec
	journaled        bool
	secret           []byte
	srcImage, detail string
	srcPolicy        engine.RestartPolicy
	owner            FileOwner
	// copied is the sha256 of the secret file the copy carried ("" if none).
	copied string
}

func (m *mover) run(ctx context.Context) error {
	for _, step := range Steps {
		if step == StepPurgeSource && !m.o.PurgeSource {
			break
		}
		if err := m.begin(step); err != nil {
			return m.failed(ctx, step, err)
		}
		m.detail = ""
		if err := m.do(ctx, step); err != nil {
			return m.failed(ctx, step, err)
		}
		if m.o.Report != nil {
			m.o.Report(step, m.detail)
		}
	}
	m.j.State = JournalDone
	if !m.o.PurgeSource {
		m.j.KeptVolumes = append(m.j.KeptVolumes, HubVolume{Hub: m.j.From, Volume: m.spec.Volume})
	}
	m.res.SourcePurged = m.o.PurgeSource
	return m.finishJournal()
}

// begin journals step (once the move changes anything) and runs the test hook.
func (m *mover) begin(step Step) error {
	if step.Index() >= StepCreateTarget.Index() {
		m.j.Step = step
		if err := m.store.saveJournal(m.j); err != nil {
			return err
		}
		m.journaled = true
	}
	if m.o.BeforeStep != nil {
		return m.o.BeforeStep(step)
	}
	return nil
}

// finishJournal deletes the journal, or keeps it while it lists volumes
// left on other hubs.
func (m *mover) finishJournal() error {
	if len(m.j.KeptVolumes) == 0 {
		return m.store.deleteJournal(m.j.Pub)
	}
	return m.store.saveJournal(m.j)
}

// failed settles a move that failed at step: undone before the inventory
// names the target, finished after.
func (m *mover) failed(ctx context.Context, step Step, cause error) error {
	cause = fmt.Errorf("move to %s failed at step %s: %w", m.j.To, step, trimPub(cause, m.j.Pub))
	if !m.journaled {
		return pubError(m.j.Pub, m.j.From, cause)
	}
	bg, cancel := background(ctx)
	defer cancel()
	note, err := settle(bg, m.svc, m.store, &m.j, false)
	if err != nil {
		return pubError(m.j.Pub, m.j.From, fmt.Errorf("%w; then %v", cause, trimPub(err, m.j.Pub)))
	}
	if m.j.State == JournalDone {
		// Committed already: the move is done despite the failure.
		m.res.SourcePurged = !slices.ContainsFunc(m.j.KeptVolumes, func(v HubVolume) bool { return v.Hub == m.j.From })
		m.res.ID = m.j.ID
		m.res.Settled = note
		return nil
	}
	return pubError(m.j.Pub, m.j.From, fmt.Errorf("%w; %s", cause, note))
}

func (m *mover) do(ctx context.Context, step Step) error {
	switch step {
	case StepCheck:
		return m.check(ctx)
	case StepSaveIdentity:
		id, err := m.store.RecordOwned(m.j.Pub, m.j.From, m.secret, &m.owner, m.o.Now())
		if err != nil {
			return err
		}
		m.detail = "in " + m.store.Dir()
		m.j.ID, m.j.SecretSHA256 = id.ID, id.SHA256
		m.res.ID = id.ID
		return nil
	case StepStopSource:
		return m.stopSource(ctx)
	case StepCreateTarget:
		return m.createTarget(ctx)
	case StepCopy:
		return m.copy(ctx)
	case StepVerifySecret:
		// The copy hashed the secret file on its way to the target, whose
		// engine wrote every byte or failed the copy.
		if m.copied == "" {
			return fmt.Errorf("the data copied to %s had no secret file", m.j.To)
		}
		if m.copied != m.j.SecretSHA256 {
			return fmt.Errorf("the secret file copied to %s is not the one read before the move (sha256 %s, want %s)", m.j.To, m.copied, m.j.SecretSHA256)
		}
		return nil
	case StepStartTarget:
		c, err := m.dst.PubContainer(ctx, m.j.Pub)
		if err != nil {
			return err
		}
		return m.dst.Start(ctx, c)
	case StepWhoami:
		id, err := waitWhoami(ctx, m.svc, m.dst, m.j.Pub, m.spec.Image)
		if err != nil {
			return err
		}
		if id != m.j.ID {
			return fmt.Errorf("on %s the pub answers whoami with %s, not %s", m.j.To, id, m.j.ID)
		}
		m.detail = id
		return nil
	case StepUpdateInventory:
		m.detail = m.svc.Inventory().Path
		return setPubHub(ctx, m.svc, m.j.Pub, m.j.From, m.j.To, "buttctl pub move")
	case StepRestartPolicy:
		c, err := m.dst.PubContainer(ctx, m.j.Pub)
		if err != nil {
			return err
		}
		return m.dst.SetRestartPolicy(ctx, c, restartPolicy(m.spec))
	case StepRemoveSource:
		return m.src.Remove(ctx, m.srcC)
	case StepPurgeSource:
		return m.src.RemoveVolume(ctx, pubspec.VolumeName(m.j.Pub), m.j.Pub)
	}
	return fmt.Errorf("unknown step %s", step)
}

// check looks at source and target, at once, without changing anything.
func (m *mover) check(ctx context.Context) error {
	var err error
	if m.src, err = m.svc.Engine(m.j.From); err != nil {
		return err
	}
	if m.dst, err = m.svc.Engine(m.j.To); err != nil {
		return err
	}
	if m.spec, err = specOn(m.svc, m.pub, m.j.To); err != nil {
		return err
	}
	target := make(chan error, 1)
	go func() { target <- m.checkTarget(ctx) }()
	return errors.Join(m.checkSource(ctx), <-target)
}

// checkSource reads the pub's secret on the source and checks that the
// running pub answers whoami with its id.
func (m *mover) checkSource(ctx context.Context) error {
	var err error
	m.srcC, err = m.src.PubContainer(ctx, m.j.Pub)
	if engine.IsNotFound(err) {
		return fmt.Errorf("no container on %s to move (create it with 'buttctl pub create %s')", m.j.From, m.j.Pub)
	}
	if err != nil {
		return err
	}
	m.srcImage, m.srcPolicy = m.srcC.Image, engine.RestartPolicy{}
	if ins, err := m.src.Inspect(ctx, m.srcC); err == nil {
		if ins.Config != nil {
			m.srcImage = ins.Config.Image
		}
		if ins.HostConfig != nil {
			m.srcPolicy = engine.RestartPolicy{Name: string(ins.HostConfig.RestartPolicy.Name), MaxRetries: ins.HostConfig.RestartPolicy.MaximumRetryCount}
		}
	}
	m.srcDir = m.svc.Inventory().ImageProfile(m.srcImage).DataDir
	var answered string
	asked := make(chan error, 1)
	if m.srcC.State == "running" {
		go func() {
			var err error
			answered, err = whoami(ctx, m.svc, m.src, m.srcC, m.srcImage)
			asked <- err
		}()
	} else {
		asked <- nil
	}
	m.secret, m.owner, err = readSecretOwned(ctx, m.src, m.srcC, m.srcDir)
	werr := <-asked
	if err != nil {
		if errors.Is(err, ErrNoSecret) {
			err = fmt.Errorf("%w (the pub has never run: create it on %s instead)", err, m.j.To)
		}
		return err
	}
	sec, err := ParseSecret(m.secret)
	if err != nil {
		return err
	}
	if werr != nil {
		return fmt.Errorf("whoami on %s: %w", m.j.From, werr)
	}
	if answered != "" && answered != sec.ID {
		// The secret read must be the one the pub uses.
		return fmt.Errorf("the pub answers whoami with %s but its secret file in %s is %s's: check the image's data_dir", answered, m.srcDir, sec.ID)
	}
	return nil
}

// checkTarget checks that the target answers and is free of the pub, but
// for what earlier moves left there (stale copies of this identity, which
// is safe on the source).
func (m *mover) checkTarget(ctx context.Context) error {
	name := m.j.Pub
	if c, err := m.dst.PubContainer(ctx, name); err == nil {
		if !m.keptOn(m.j.To, true) {
			return fmt.Errorf("%s already has a container for the pub (%s): remove it there first", m.j.To, c.State)
		}
	} else if !engine.IsNotFound(err) {
		return err
	}
	if has, err := m.dst.VolumeExists(ctx, m.spec.Volume, name); err != nil {
		return err
	} else if has && !m.keptOn(m.j.To, false) {
		return fmt.Errorf("%s already has a volume for the pub (%s), which buttctl did not leave there: remove it there first (after a backup)", m.j.To, m.spec.Volume)
	}
	return nil
}

// keptOn reports whether the journal lists the pub's volume (and, if
// container, its container) on hub as left by an earlier move.
func (m *mover) keptOn(hub string, container bool) bool {
	return slices.ContainsFunc(m.j.KeptVolumes, func(v HubVolume) bool {
		return v.Hub == hub && (!container || v.Container)
	})
}

func (m *mover) stopSource(ctx context.Context) error {
	if m.srcPolicy.Name == "" {
		policy, err := m.src.GetRestartPolicy(ctx, m.srcC)
		if err != nil {
			return err
		}
		m.srcPolicy = policy
	}
	m.j.SourceRestart = m.srcPolicy
	m.j.SourceWasRunning = m.srcC.State == "running" || m.srcC.State == "restarting" || m.srcC.State == "paused"
	if err := m.store.saveJournal(m.j); err != nil {
		return err
	}
	if err := m.src.SetRestartPolicy(ctx, m.srcC, engine.RestartPolicy{Name: "no"}); err != nil {
		return err
	}
	if m.srcC.State == "paused" {
		if err := m.src.Unpause(ctx, m.srcC); err != nil {
			return err
		}
	}
	if err := m.src.Stop(ctx, m.srcC, nil); err != nil {
		return err
	}
	c, err := m.src.PubContainer(ctx, m.j.Pub)
	if err != nil {
		return err
	}
	if c.State == "running" || c.State == "restarting" || c.State == "paused" {
		return fmt.Errorf("the pub is still %s on %s after stop", c.State, m.j.From)
	}
	m.srcC = c
	return nil
}

func (m *mover) createTarget(ctx context.Context) error {
	name := m.j.Pub
	// Leftovers of earlier moves: a never-started container, a stale volume.
	if m.keptOn(m.j.To, false) {
		if err := removeCreated(ctx, m.dst, m.spec); err != nil {
			return fmt.Errorf("removing what an earlier move left on %s: %w", m.j.To, err)
		}
		m.j.KeptVolumes = slices.DeleteFunc(m.j.KeptVolumes, func(v HubVolume) bool { return v.Hub == m.j.To })
		if err := m.store.saveJournal(m.j); err != nil {
			return err
		}
	}
	from, err := ensureImage(ctx, m.svc, m.dst, m.spec.Image, []string{m.j.From}, nil)
	if err != nil {
		return err
	}
	m.res.ImageFrom = from
	if _, err := m.dst.EnsureNetwork(ctx, m.spec.Network); err != nil {
		return err
	}
	created, err := m.dst.EnsureVolume(ctx, m.spec.Volume, pubspec.VolumeLabels(name))
	if err != nil {
		return err
	}
	if !created {
		return fmt.Errorf("volume %s appeared on %s during the move", m.spec.Volume, m.j.To)
	}
	_, err = createStill(ctx, m.dst, m.spec)
	return err
}

func (m *mover) copy(ctx context.Context) error {
	c, err := m.dst.PubContainer(ctx, m.j.Pub)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rc, err := m.src.ReadPath(ctx, m.srcC, m.srcDir+"/.")
	if err != nil {
		return err
	}
	defer rc.Close()
	counted := &countingReader{r: rc, progress: m.o.Progress}
	tap := &errTap{r: counted}
	sniff := newSecretSniffer()
	werr := m.dst.WritePath(ctx, c, m.spec.DataDir, io.TeeReader(tap, sniff))
	m.copied = sniff.Close()
	m.res.Bytes = counted.N()
	if err := tap.error(); err != nil {
		return fmt.Errorf("reading the data on %s: %w", m.j.From, err)
	}
	if werr != nil {
		return werr
	}
	m.detail = fmt.Sprintf("%d bytes", m.res.Bytes)
	return nil
}

// whereItRuns finds the pub when the inventory places it on hub: "" if hub
// has its container (or volume), else the one other hub that has its
// container. Unreachable hubs make the answer unknown, an error.
func whereItRuns(ctx context.Context, svc *pubs.Service, pub, hub string) (string, error) {
	e, err := svc.Engine(hub)
	if err != nil {
		return "", err
	}
	if _, err := e.PubContainer(ctx, pub); err == nil {
		return "", nil
	} else if !engine.IsNotFound(err) {
		return "", err
	}
	if has, err := e.VolumeExists(ctx, pubspec.VolumeName(pub), pub); err != nil || has {
		return "", err
	}
	var found []string
	var unknown []pubs.HubError
	for _, h := range svc.Inventory().Hubs {
		if h.Name == hub {
			continue
		}
		e, err := svc.Engine(h.Name)
		if err == nil {
			_, err = e.PubContainer(ctx, pub)
		}
		switch {
		case err == nil:
			found = append(found, h.Name)
		case !engine.IsNotFound(err):
			unknown = append(unknown, pubs.HubError{Hub: h.Name, Err: err})
		}
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) > 1:
		return "", fmt.Errorf("the pub has no container on %s, where the inventory places it, but has one on each of %v: remove all but one", hub, found)
	case len(unknown) > 0:
		return "", fmt.Errorf("the pub has no container on %s, where the inventory places it, and %s could not be asked: retry when it answers", hub, hubList(unknown))
	}
	return "", fmt.Errorf("the pub has no container on any hub: create it with 'buttctl pub create %s'", pub)
}

// currentHub is where the inventory file places pub now (the file, not the
// service's copy, which a settled move may have made stale).
func currentHub(svc *pubs.Service, pub string) (string, error) {
	inv := svc.Inventory()
	if inv.Path != "" {
		fresh, err := inventory.Load(inv.Path)
		if err != nil {
			return "", err
		}
		inv = fresh
	}
	p, ok := inv.Pub(pub)
	if !ok {
		return "", fmt.Errorf("pub %s is no longer in the inventory %s", pub, inv.Path)
	}
	return p.Hub, nil
}

// trimPub drops a leading "pub NAME on HUB: " or "pub NAME: " from err's text.
func trimPub(err error, pub string) error {
	var pe *pubs.Error
	if errors.As(err, &pe) && pe.Pub == pub {
		if pe.Hub != "" {
			return fmt.Errorf("%s: %w", pe.Hub, pe.Err)
		}
		return pe.Err
	}
	return err
}
