//go:build linux

package main

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/moby/moby/client"
	"golang.org/x/sys/unix"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/engine"
	"github.com/buttctl/buttctl/ops/fleet/fleettest"
	"github.com/buttctl/buttctl/ops/pubs"
	"github.com/buttctl/buttctl/ops/testworld"
)

// Crash safety: buttctl is killed with SIGKILL at random moments while it
// applies and while it saves the inventory. After every kill the inventory
// must parse with its comments, no lock may outlive its holder, and the next
// apply must converge, every pub keeping its identity and data volume.

const (
	// crashKills is how many times each test kills buttctl.
	crashKills = 100
	// envCrashSeed re-runs the kill times of an earlier run (its log says the seed).
	envCrashSeed = "BUTTCTL_CRASH_SEED"
)

func crashRand(t *testing.T) *rand.Rand {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv(envCrashSeed); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("%s=%q: %v", envCrashSeed, s, err)
		}
	}
	t.Logf("seed %d (%s=%d re-runs it)", seed, envCrashSeed, seed)
	return rand.New(rand.NewPCG(seed, seed))
}

// victim is a buttctl process to be killed.
type victim struct {
	cmd         *exec.Cmd
	out, errOut bytes.Buffer
	done        chan struct{}
}

func startVictim(t *testing.T, dir string, args ...string) *victim {
	t.Helper()
	v := &victim{cmd: buttctlCommand(dir, nil, args...), done: make(chan struct{})}
	v.cmd.Stdout, v.cmd.Stderr = &v.out, &v.errOut
	v.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := v.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = v.cmd.Wait()
		close(v.done)
	}()
	return v
}

// killAfter kills the process group with SIGKILL after d, unless the process
// ends first, and waits for it. It reports whether the kill ended it.
func (v *victim) killAfter(d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-v.done:
	case <-timer.C:
		_ = syscall.Kill(-v.cmd.Process.Pid, syscall.SIGKILL)
		<-v.done
	}
	ws, ok := v.cmd.ProcessState.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// crashFleet is the world's hubs and the test's pubs on them.
type crashFleet struct {
	t      *testing.T
	w      *testworld.World
	dir    string // where buttctl runs; its HOME
	path   string // the inventory
	prefix string
	apis   map[string]*client.Client // by hub
	ids    map[string]string         // pub → identity at its first check
	marked map[string]bool           // pubs whose data volume has crashMarker
}

// crashMarker is a file the test puts in each pub's data directory: the
// data volume is the same as long as it is there.
const crashMarker = "crash-test-marker"

func newCrashFleet(t *testing.T, w *testworld.World, short string) *crashFleet {
	t.Helper()
	f := &crashFleet{t: t, w: w, dir: t.TempDir(), prefix: fleettest.Prefix(short), apis: map[string]*client.Client{}, ids: map[string]string{}, marked: map[string]bool{}}
	f.path = filepath.Join(f.dir, "buttctl.yaml")
	for _, h := range w.Hubs {
		api, err := h.DockerClient()
		if err != nil {
			t.Fatal(err)
		}
		f.apis[h.Name] = api
		t.Cleanup(func() {
			fleettest.Remove(api, f.prefix)
			api.Close()
		})
	}
	if err := w.WriteInventory(f.path); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *crashFleet) pub(name string) string { return f.prefix + "-" + name }

// port is a port of the world no one else uses.
func (f *crashFleet) port() int {
	p, err := f.w.AllocPort()
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

func (f *crashFleet) text() string {
	data, err := os.ReadFile(f.path)
	if err != nil {
		f.t.Fatal(err)
	}
	return string(data)
}

// write replaces the inventory as an editor would: whole, by a rename.
func (f *crashFleet) write(text string) {
	tmp := f.path + ".edit"
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		f.t.Fatal(err)
	}
	if err := os.Rename(tmp, f.path); err != nil {
		f.t.Fatal(err)
	}
}

// editPub rewrites pub's entry (its "  - name:" line up to the next entry).
func (f *crashFleet) editPub(pub string, edit func(entry string) string) {
	f.t.Helper()
	text := f.text()
	start := strings.Index(text, "  - name: "+pub+"\n")
	if start < 0 {
		start = strings.Index(text, "  - name: "+pub+" ")
	}
	if start < 0 {
		f.t.Fatalf("no pub %s in:\n%s", pub, text)
	}
	end := len(text)
	if next := strings.Index(text[start+1:], "\n  - "); next >= 0 {
		end = start + 1 + next + 1
	}
	f.write(text[:start] + edit(text[start:end]) + text[end:])
}

// unplace removes pub's hub line, so that apply places it and writes it back.
func (f *crashFleet) unplace(pub string) {
	f.editPub(pub, func(entry string) string {
		lines := strings.SplitAfter(entry, "\n")
		return strings.Join(slices.DeleteFunc(lines, func(l string) bool { return strings.HasPrefix(l, "    hub: ") }), "")
	})
}

// run runs buttctl to its end.
func (f *crashFleet) run(args ...string) result {
	return buttctl(f.t, f.dir, nil, args...)
}

func (f *crashFleet) selectPubs() string { return "--pub=" + f.prefix + "-*" }

// checkInventory fails unless the inventory (and its .bak, when there is
// one) parses and has every comment in comments.
func (f *crashFleet) checkInventory(when string, comments ...string) *inventory.Inventory {
	f.t.Helper()
	var inv *inventory.Inventory
	for _, p := range []string{f.path, f.path + ".bak"} {
		data, err := os.ReadFile(p)
		if os.IsNotExist(err) && p != f.path {
			continue
		}
		if err != nil {
			f.t.Fatalf("%s: %v", when, err)
		}
		i, err := inventory.Load(p)
		if err != nil {
			f.t.Fatalf("%s: %s does not load: %v\n%s", when, filepath.Base(p), err, data)
		}
		for _, c := range comments {
			if !strings.Contains(string(data), c) {
				f.t.Fatalf("%s: %s lost the comment %q:\n%s", when, filepath.Base(p), c, data)
			}
		}
		if inv == nil {
			inv = i
		}
	}
	return inv
}

// converge applies, then checks that plan finds nothing to do.
func (f *crashFleet) converge(when string) {
	f.t.Helper()
	if r := f.run("apply", "--yes", f.selectPubs()); r.code != 0 {
		f.t.Fatalf("%s: the next apply failed (exit %d):\n%s%s", when, r.code, r.stdout, r.stderr)
	}
	if r := f.run("plan", "--detailed-exitcode", f.selectPubs()); r.code != 0 {
		f.t.Fatalf("%s: plan after the apply exits %d:\n%s%s", when, r.code, r.stdout, r.stderr)
	}
}

// checkPubs fails unless each of the inventory's pubs has exactly one
// container and one data volume on any hub, both on its own hub, the volume
// with the marker put there at the pub's first check, and, when it runs, the
// identity it had at its first check, which no other pub has.
func (f *crashFleet) checkPubs(when string, inv *inventory.Inventory) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	managed := client.Filters{}.Add("label", engine.LabelManaged+"=true")
	containers := map[string][]string{} // pub → hubs with a container of it
	volumes := map[string][]string{}
	for hub, api := range f.apis {
		cs, err := api.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: managed})
		if err != nil {
			f.t.Fatalf("%s: containers on %s: %v", when, hub, err)
		}
		for _, c := range cs.Items {
			if p := c.Labels[engine.LabelPub]; strings.HasPrefix(p, f.prefix+"-") {
				containers[p] = append(containers[p], hub)
			}
		}
		vs, err := api.VolumeList(ctx, client.VolumeListOptions{Filters: managed})
		if err != nil {
			f.t.Fatalf("%s: volumes on %s: %v", when, hub, err)
		}
		for _, v := range vs.Items {
			if p := v.Labels[engine.LabelPub]; strings.HasPrefix(p, f.prefix+"-") {
				volumes[p] = append(volumes[p], hub)
			}
		}
	}
	for _, p := range inv.Pubs {
		if hubs := containers[p.Name]; len(hubs) != 1 || hubs[0] != p.Hub {
			f.t.Fatalf("%s: pub %s, placed on %q, has containers on %v", when, p.Name, p.Hub, hubs)
		}
		if hubs := volumes[p.Name]; len(hubs) != 1 || hubs[0] != p.Hub {
			f.t.Fatalf("%s: pub %s, placed on %q, has data volumes on %v", when, p.Name, p.Hub, hubs)
		}
		api, container := f.apis[p.Hub], "buttctl-pub-"+p.Name
		marker := inv.ImageProfile(p.Image).DataDir + "/" + crashMarker
		if !f.marked[p.Name] {
			var tarball bytes.Buffer
			tw := tar.NewWriter(&tarball)
			_ = tw.WriteHeader(&tar.Header{Name: crashMarker, Mode: 0o600, Size: int64(len(p.Name))})
			_, _ = tw.Write([]byte(p.Name))
			_ = tw.Close()
			if _, err := api.CopyToContainer(ctx, container, client.CopyToContainerOptions{DestinationPath: path.Dir(marker), Content: &tarball}); err != nil {
				f.t.Fatalf("%s: marking pub %s's data volume: %v", when, p.Name, err)
			}
			f.marked[p.Name] = true
		}
		if _, err := api.ContainerStatPath(ctx, container, client.ContainerStatPathOptions{Path: marker}); err != nil {
			var diag string
			if ins, err := api.ContainerInspect(ctx, container, client.ContainerInspectOptions{}); err == nil {
				diag = fmt.Sprintf("container %s created %s state %+v mounts %+v", ins.Container.ID[:12], ins.Container.Created, ins.Container.State, ins.Container.Mounts)
			} else {
				diag = err.Error()
			}
			ls, _ := f.w.Hub(p.Hub).Exec(ctx, "ls", "-la", "--full-time", "/var/lib/docker/volumes/buttctl-pub-"+p.Name+"-data/_data")
			_, again := api.ContainerStatPath(ctx, container, client.ContainerStatPathOptions{Path: marker})
			who, werr := f.w.Hub(p.Hub).ExecIn(ctx, container, "sbot", "whoami")
			f.t.Fatalf("%s: pub %s's data volume lost the test's marker, its data is lost: %v\n%s\n%s\nagain: %v\nwhoami %+v %v (was %s)", when, p.Name, err, diag, ls, again, who, werr, f.ids[p.Name])
		}
		if p.State == inventory.StateStopped {
			continue
		}
		id := f.whoami(ctx, when, p.Hub, p.Name)
		if was, seen := f.ids[p.Name]; seen && was != id {
			f.t.Fatalf("%s: pub %s is %s, was %s", when, p.Name, id, was)
		}
		for other, oid := range f.ids {
			if other != p.Name && oid == id {
				f.t.Fatalf("%s: pubs %s and %s run one identity %s", when, p.Name, other, id)
			}
		}
		f.ids[p.Name] = id
	}
}

// runningOn lists the hubs where a container of pub runs.
func (f *crashFleet) runningOn(pub string) []string {
	f.t.Helper()
	var on []string
	for hub, api := range f.apis {
		cs, err := api.ContainerList(context.Background(), client.ContainerListOptions{Filters: client.Filters{}.Add("label", engine.LabelPub+"="+pub)})
		if err != nil {
			f.t.Fatalf("containers on %s: %v", hub, err)
		}
		if len(cs.Items) > 0 {
			on = append(on, hub)
		}
	}
	return on
}

// whoami asks the pub's container itself, bypassing buttctl, until the
// pub, perhaps just started, answers.
func (f *crashFleet) whoami(ctx context.Context, when, hub, pub string) string {
	f.t.Helper()
	var last string
	for delay := 10 * time.Millisecond; ctx.Err() == nil; delay = min(2*delay, 200*time.Millisecond) {
		res, err := f.w.Hub(hub).ExecIn(ctx, "buttctl-pub-"+pub, "sbot", "whoami")
		if err == nil {
			id, err := pubs.ParseWhoami([]byte(res.Stdout))
			if err == nil && res.ExitCode == 0 {
				return id
			}
			last = fmt.Sprintf("exit %d: %s%s", res.ExitCode, res.Stdout, res.Stderr)
		} else {
			last = err.Error()
		}
		time.Sleep(delay)
	}
	f.t.Fatalf("%s: pub %s on %s never said who it is: %s", when, pub, hub, last)
	return ""
}

// TestCrashDuringApply kills `buttctl apply` crashKills times, each time at
// a random moment of the span an apply takes, with work to do in every part
// of it: a placement to write into the inventory, a pub to stop or start, a
// pub to recreate, and from time to time a new pub to create. After each
// kill the inventory must load with its comments and the next apply must
// converge (plan then finds nothing), every pub keeping its identity and
// data volume, none on two containers.
func TestCrashDuringApply(t *testing.T) {
	t.Parallel()
	w := testworld.ForTest(t, 2)
	rng := crashRand(t)
	f := newCrashFleet(t, w, "crash")
	a, b, c := f.pub("a"), f.pub("b"), f.pub("c")
	comments := []string{"# buttctl inventory of test world", "# container ", "# the crash test's pubs", "# its state flips", "# recreated: its memory flips", "# loses its hub"}
	f.write(strings.Replace(f.text(), "\npubs: []\n", fmt.Sprintf(`
pubs:
  # the crash test's pubs
  - name: %s # its state flips
    hub: %s
    port: %d
    state: running
  - name: %s # recreated: its memory flips
    hub: %s
    port: %d
    memory: 80m
  - name: %s # loses its hub, placed back by apply
    port: %d
`, a, w.Hubs[0].Name, f.port(), b, w.Hubs[1].Name, f.port(), c, f.port()), 1))
	f.converge("first apply")
	first := f.checkInventory("first apply", comments...)
	f.checkPubs("first apply", first)
	placed, _ := first.Pub(c)
	cHub := placed.Hub

	newPubs := 0
	change := func(i int) {
		f.editPub(a, func(e string) string {
			if strings.Contains(e, "state: running") {
				return strings.Replace(e, "state: running", "state: stopped", 1)
			}
			return strings.Replace(e, "state: stopped", "state: running", 1)
		})
		f.editPub(b, func(e string) string {
			if strings.Contains(e, "memory: 80m") {
				return strings.Replace(e, "memory: 80m", "memory: 96m", 1)
			}
			return strings.Replace(e, "memory: 96m", "memory: 80m", 1)
		})
		f.unplace(c)
		if i%20 == 10 {
			newPubs++
			f.write(f.text() + fmt.Sprintf("  - name: %s # new, with no hub\n    port: %d\n", f.pub(fmt.Sprint("n", newPubs)), f.port()))
		}
	}

	// The span of an apply with this work, and when in it the placements
	// are written (the inventory's modification time), unkilled.
	var span, firstWriteBack, lastWriteBack time.Duration
	const calibrations = 3
	for i := range calibrations {
		change(1)
		start := time.Now()
		if r := f.run("apply", "--yes", f.selectPubs()); r.code != 0 {
			t.Fatalf("apply (unkilled): exit %d:\n%s%s", r.code, r.stdout, r.stderr)
		}
		took := time.Since(start)
		st, err := os.Stat(f.path)
		if err != nil {
			t.Fatal(err)
		}
		writeBack := st.ModTime().Sub(start)
		if i == 0 {
			span, firstWriteBack, lastWriteBack = took, writeBack, writeBack
		}
		span = min(span, took)
		firstWriteBack, lastWriteBack = min(firstWriteBack, writeBack), max(lastWriteBack, writeBack)
		f.checkPubs("unkilled apply", f.checkInventory("unkilled apply", comments...))
	}
	t.Logf("apply takes %s (the shortest of %d), writes the inventory %s to %s after it starts", span.Round(time.Millisecond), calibrations,
		firstWriteBack.Round(time.Millisecond), lastWriteBack.Round(time.Millisecond))

	// A quarter of the kills aim at the write-back, the rest anywhere.
	aim := lastWriteBack - firstWriteBack + 40*time.Millisecond
	phases := map[string]int{}
	var delays []time.Duration
	loopStart := time.Now()
	kills := 0
	for i := 0; kills < crashKills; i++ {
		if i == 3*crashKills {
			t.Fatalf("only %d of %d applies were killed: the rest finished first", kills, i)
		}
		change(i)
		before := f.text()
		delay := time.Duration(rng.Int64N(int64(span)))
		if rng.IntN(4) == 0 {
			delay = max(0, firstWriteBack-20*time.Millisecond+time.Duration(rng.Int64N(int64(aim))))
		}
		delays = append(delays, delay)
		v := startVictim(t, f.dir, "apply", "--yes", f.selectPubs())
		killed := v.killAfter(delay)
		if killed {
			kills++
		}
		when := fmt.Sprintf("apply %d (killed after %s: %v)", i, delay.Round(time.Millisecond), killed)
		phases[applyPhase(killed, v.out.String(), before, f.text())]++
		inv := f.checkInventory(when, comments...)
		if p, ok := inv.Pub(c); !ok || p.Hub != "" && p.Hub != cHub {
			t.Fatalf("%s: pub %s is %+v, was on %s", when, c, p, cHub)
		}
		f.converge(when)
		f.checkPubs(when, f.checkInventory(when, comments...))
	}
	took := time.Since(loopStart)
	slices.Sort(delays)
	t.Logf("%d applies, %d killed, in %s (%s each, converging included); kill times from %s to %s, median %s; %d new pubs",
		len(delays), kills, took.Round(time.Second), (took / time.Duration(len(delays))).Round(time.Millisecond),
		delays[0].Round(time.Millisecond), delays[len(delays)-1].Round(time.Millisecond), delays[len(delays)/2].Round(time.Millisecond), newPubs)
	t.Logf("where the kills landed: %v", phases)
}

// applyPhase says how far a (killed) apply got, from what it printed and
// whether the inventory changed.
func applyPhase(killed bool, stdout, before, after string) string {
	switch {
	case !killed:
		return "finished first"
	case !strings.Contains(stdout, "buttctl will:"):
		return "before the plan"
	case before == after:
		return "before the write-back"
	}
	done := 0
	for _, l := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(l, "done ") || strings.HasPrefix(l, "failed ") {
			done++
		}
	}
	return fmt.Sprintf("written back, %d actions finished", done)
}

// TestKillDuringInventorySave kills buttctl crashKills times while it saves
// the inventory: `apply` writing a placement back (Editor.Save: a .bak, then
// the file, each through a temporary file) and `init` creating one. A kill
// lands at a random moment of the span a save takes, counted from the
// temporary file it starts with (inotify tells when). After each kill the
// inventory parses, whole, with its comments; no lock is left held; and the
// next command succeeds, leaving no temporary file behind.
func TestKillDuringInventorySave(t *testing.T) {
	t.Parallel()
	w := testworld.ForTest(t, 2)
	rng := crashRand(t)
	f := newCrashFleet(t, w, "crashsave")
	s := f.pub("s")
	hub := w.Hubs[0].Name // where s is, as pub move changes it
	comments := []string{"# buttctl inventory of test world", "# container ", "# the pub apply places back"}
	f.write(strings.Replace(f.text(), "\npubs: []\n", fmt.Sprintf("\npubs:\n  - name: %s # the pub apply places back\n    hub: %s\n    port: %d\n", s, hub, f.port()), 1))
	f.converge("first apply")
	f.checkPubs("first apply", f.checkInventory("first apply", comments...))
	applyEvents := watchDir(t, f.dir)
	// Each save gets a comment of its own, so that a .bak tells which save wrote it.
	mark := func(i int) string {
		f.write(regexp.MustCompile(`(?m)^# save -?\d+\n`).ReplaceAllString(f.text(), "") + fmt.Sprintf("# save %d\n", i))
		return f.text()
	}
	unplace := func(i int) string {
		mark(i)
		f.unplace(s)
		return f.text()
	}
	// checkKilled checks the inventory and its lock after save i was killed.
	checkKilled := func(when string, i int, hubs ...string) {
		inv := f.checkInventory(when, comments...)
		if !strings.Contains(f.text(), fmt.Sprintf("# save %d\n", i)) {
			t.Fatalf("%s: the inventory lost the comment # save %d:\n%s", when, i, f.text())
		}
		if p, ok := inv.Pub(s); !ok || !slices.Contains(hubs, p.Hub) {
			t.Fatalf("%s: pub %s is %+v, want it on one of %q", when, s, p, hubs)
		}
		if holder, err := inventory.Holder(f.path, ""); holder != nil || err != nil {
			t.Fatalf("%s: the lock is held: %v %v", when, holder, err)
		}
	}

	initDir := t.TempDir()
	initPath := filepath.Join(initDir, "buttctl.yaml")
	initEvents := watchDir(t, initDir)
	starter := inventory.Starter()

	// How long a save takes, from its first temporary file to the
	// inventory's rename (apply) or link (init), unkilled: the median of a few.
	var applySpans, initSpans []time.Duration
	for range 5 {
		unplace(-1)
		drain(applyEvents)
		v := startVictim(t, f.dir, "apply", "--yes", f.selectPubs())
		applySpans = append(applySpans, saveSpan(t, v, applyEvents, "buttctl.yaml", unix.IN_MOVED_TO))
		os.Remove(initPath)
		drain(initEvents)
		v = startVictim(t, initDir, "init")
		initSpans = append(initSpans, saveSpan(t, v, initEvents, "buttctl.yaml", unix.IN_CREATE))
	}
	slices.Sort(applySpans)
	slices.Sort(initSpans)
	applySpan, initSpan := applySpans[len(applySpans)/2], initSpans[len(initSpans)/2]
	t.Logf("a save takes %s (apply's write-back; %s to %s), %s (init; %s to %s)",
		applySpan, applySpans[0], applySpans[len(applySpans)-1], initSpan, initSpans[0], initSpans[len(initSpans)-1])

	phases := map[string]int{}
	loopStart := time.Now()
	kills, i := 0, 0
	for ; kills < crashKills; i++ {
		if i == 3*crashKills {
			t.Fatalf("only %d of %d saves were killed: the rest finished first", kills, i)
		}
		if i%3 == 2 {
			os.Remove(initPath)
			drain(initEvents)
			delay := time.Duration(rng.Int64N(int64(initSpan) + 1))
			v := startVictim(t, initDir, "init")
			when := fmt.Sprintf("save %d (init, killed %s into the save)", i, delay)
			killed := killMidSave(t, v, initEvents, "buttctl.yaml", delay)
			if killed {
				kills++
			}
			phases["init: "+savePhase(killed, initDir, "buttctl.yaml", nil, "")]++
			if data, err := os.ReadFile(initPath); err == nil && !bytes.Equal(data, starter) {
				t.Fatalf("%s: the inventory init wrote is not the starter:\n%s", when, data)
			} else if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			// A killed init leaves nothing or the whole starter; the next
			// init (when there is nothing) leaves no temporary file.
			if _, err := os.Stat(initPath); os.IsNotExist(err) {
				if r := buttctl(t, initDir, nil, "init"); r.code != 0 {
					t.Fatalf("%s: the next init failed (exit %d): %s%s", when, r.code, r.stdout, r.stderr)
				}
				noTemps(t, when, initDir)
			}
			if _, err := inventory.Load(initPath); err != nil {
				t.Fatalf("%s: %v", when, err)
			}
			continue
		}
		if i%10 == 4 {
			// pub move writes the inventory after the pub runs on the
			// target: killed then, the pub must not run twice.
			to := w.Hubs[0].Name
			if hub == to {
				to = w.Hubs[1].Name
			}
			before := mark(i)
			drain(applyEvents)
			delay := time.Duration(rng.Int64N(int64(applySpan) + 1))
			v := startVictim(t, f.dir, "pub", "move", s, "--to", to, "--purge-source")
			when := fmt.Sprintf("save %d (pub move, killed %s into the save)", i, delay)
			killed := killMidSave(t, v, applyEvents, "buttctl.yaml", delay)
			if killed {
				kills++
			}
			phases["pub move: "+savePhase(killed, f.dir, "buttctl.yaml", []byte(before), fmt.Sprintf("# save %d\n", i))]++
			checkKilled(when, i, hub, to)
			if r := f.run("apply", "--yes", f.selectPubs()); r.code != 0 && r.code != 1 {
				t.Fatalf("%s: the next apply: exit %d:\n%s%s", when, r.code, r.stdout, r.stderr)
			}
			if on := f.runningOn(s); len(on) > 1 {
				t.Fatalf("%s: after the next apply, pub %s runs on %v", when, s, on)
			}
			if r := f.run("pub", "move", s, "--to", to, "--purge-source"); r.code != 0 {
				t.Fatalf("%s: the next pub move: exit %d:\n%s%s", when, r.code, r.stdout, r.stderr)
			}
			hub = to
			f.converge(when)
			f.checkPubs(when, f.checkInventory(when, comments...))
			noTemps(t, when, f.dir)
			continue
		}
		before := unplace(i)
		drain(applyEvents)
		delay := time.Duration(rng.Int64N(int64(applySpan) + 1))
		v := startVictim(t, f.dir, "apply", "--yes", f.selectPubs())
		when := fmt.Sprintf("save %d (apply, killed %s into the save)", i, delay)
		killed := killMidSave(t, v, applyEvents, "buttctl.yaml", delay)
		if killed {
			kills++
		}
		phases["apply: "+savePhase(killed, f.dir, "buttctl.yaml", []byte(before), fmt.Sprintf("# save %d\n", i))]++
		checkKilled(when, i, "", hub)
		if r := f.run("apply", "--yes", f.selectPubs()); r.code != 0 {
			t.Fatalf("%s: the next apply failed (exit %d):\n%s%s", when, r.code, r.stdout, r.stderr)
		}
		if p, _ := f.checkInventory(when, comments...).Pub(s); p.Hub != hub {
			t.Fatalf("%s: the next apply did not place %s back on %s:\n%s", when, s, hub, f.text())
		}
		noTemps(t, when, f.dir)
	}
	f.checkPubs("the end", f.checkInventory("the end", comments...))
	took := time.Since(loopStart)
	t.Logf("%d saves, %d killed, in %s (%s each, the next command included)", i, kills, took.Round(time.Second), (took / time.Duration(i)).Round(time.Millisecond))
	t.Logf("where the kills landed: %v", phases)
}

// dirEvent is what inotify says of a file of a directory.
type dirEvent struct {
	name string
	mask uint32
	at   time.Time
}

// watchDir reports the files created in dir and moved into it.
func watchDir(t *testing.T, dir string) <-chan dirEvent {
	t.Helper()
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_CREATE|unix.IN_MOVED_TO); err != nil {
		unix.Close(fd)
		t.Fatal(err)
	}
	// Non-blocking, so that a read waits in the runtime's poller and Close ends it.
	file := os.NewFile(uintptr(fd), "inotify "+dir)
	t.Cleanup(func() { file.Close() })
	out := make(chan dirEvent, 1024)
	go func() {
		buf := make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
		for {
			n, err := file.Read(buf)
			if err != nil {
				return
			}
			at := time.Now()
			for b := buf[:n]; len(b) >= unix.SizeofInotifyEvent; {
				ev := (*unix.InotifyEvent)(unsafe.Pointer(&b[0]))
				end := unix.SizeofInotifyEvent + int(ev.Len)
				out <- dirEvent{name: string(bytes.TrimRight(b[unix.SizeofInotifyEvent:end], "\x00")), mask: ev.Mask, at: at}
				b = b[end:]
			}
		}
	}()
	return out
}

func drain(events <-chan dirEvent) {
	for {
		select {
		case <-events:
		default:
			return
		}
	}
}

// isTemp reports whether name is a temporary file of a save of base (or of its .bak).
func isTemp(name, base string) bool {
	return strings.HasPrefix(name, "."+base+".") && strings.Contains(name, ".tmp-")
}

// saveSpan waits for v, which saves base unkilled, and returns the time from
// its first temporary file to the event mask on base.
func saveSpan(t *testing.T, v *victim, events <-chan dirEvent, base string, mask uint32) time.Duration {
	t.Helper()
	<-v.done
	if v.cmd.ProcessState.ExitCode() != 0 {
		t.Fatalf("%v: exit %d:\n%s%s", v.cmd.Args, v.cmd.ProcessState.ExitCode(), &v.out, &v.errOut)
	}
	var first time.Time
	for {
		select {
		case ev := <-events:
			if first.IsZero() && isTemp(ev.name, base) {
				first = ev.at
			}
			if !first.IsZero() && ev.name == base && ev.mask&mask != 0 {
				return ev.at.Sub(first)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%v saved no %s", v.cmd.Args, base)
		}
	}
}

// killMidSave kills v delay after it creates its first temporary file for
// base, and reports whether the kill ended it (it may have finished first).
func killMidSave(t *testing.T, v *victim, events <-chan dirEvent, base string, delay time.Duration) bool {
	t.Helper()
	timeout := time.NewTimer(time.Minute)
	defer timeout.Stop()
	for {
		select {
		case ev := <-events:
			if isTemp(ev.name, base) && ev.mask&unix.IN_CREATE != 0 {
				return v.killAfter(delay)
			}
		case <-v.done:
			if v.cmd.ProcessState.ExitCode() != 0 {
				t.Fatalf("%v: exit %d before it was killed:\n%s%s", v.cmd.Args, v.cmd.ProcessState.ExitCode(), &v.out, &v.errOut)
			}
			return false
		case <-timeout.C:
			v.killAfter(0)
			t.Fatalf("%v did not save %s within a minute:\n%s%s", v.cmd.Args, base, &v.out, &v.errOut)
		}
	}
}

// savePhase says how far a save of base in dir got before the kill, from the
// files there: temporary files, a .bak with marker (the save's own), and
// whether base still has the text before (nil: it did not exist).
func savePhase(killed bool, dir, base string, before []byte, marker string) string {
	if !killed {
		return "finished first"
	}
	entries, _ := os.ReadDir(dir)
	phase := ""
	for _, e := range entries {
		switch {
		case strings.HasPrefix(e.Name(), "."+base+".bak.tmp-"):
			phase = "writing the .bak"
		case strings.HasPrefix(e.Name(), "."+base+".tmp-"):
			phase = "writing the inventory"
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, base))
	switch {
	case phase != "" && before == nil && err == nil:
		return "created, its temporary file not yet removed"
	case phase != "":
		return phase
	case before == nil && err != nil:
		return "before its temporary file"
	case before == nil || !bytes.Equal(data, before):
		return "saved, not yet exited"
	}
	if bak, _ := os.ReadFile(filepath.Join(dir, base+".bak")); bytes.Contains(bak, []byte(marker)) {
		return "between the .bak and the inventory"
	}
	return "before the .bak"
}

// noTemps fails if dir has temporary files of a save.
func noTemps(t *testing.T, when, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Fatalf("%s: a killed save's temporary file %s is still there after the next command", when, e.Name())
		}
	}
}
