package identity_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/hubconn"
	"github.com/buttctl/buttctl/ops/identity"
	"github.com/buttctl/buttctl/ops/pubs"
	"github.com/buttctl/buttctl/ops/testworld"
	"github.com/buttctl/buttctl/sshexec"
)

var errInjected = errors.New("injected failure")

// other is the hub of the two that is not hub.
func other(hub string) string {
	if hub == "hub-1" {
		return "hub-2"
	}
	return "hub-1"
}

// TestMoveFailingAtEachStep makes a move fail at each of its steps in turn
// and checks that the pub then runs on exactly one hub, with its identity,
// on the hub the inventory names: the source before the inventory update,
// the target after it.
func TestMoveFailingAtEachStep(t *testing.T) {
	w := testworld.ForTest(t, 2)
	port, err := w.AllocPort()
	if err != nil {
		t.Fatal(err)
	}
	pub := testworld.UniqueName("mvfail")
	f := newWorldFleet(t, w, testworld.Pub{Name: pub, Hub: "hub-1", Port: port})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if _, err := f.svc.Create(ctx, pub); err != nil {
		t.Fatal(err)
	}
	id := f.whoamiOn("hub-1", pub)
	fillData(t, f.svc, pub, 1<<20)
	key := f.privateKey("hub-1", pub)
	outputs := map[string]string{}

	for _, step := range identity.Steps {
		svc := f.reload()
		from := f.hubInFile(pub)
		to := other(from)
		res, err := identity.Move(ctx, svc, f.store, pub, identity.MoveOptions{To: to, PurgeSource: true, BeforeStep: func(s identity.Step) error {
			if s == step {
				return errInjected
			}
			return nil
		}})
		outputs[string(step)] = fmt.Sprintf("%+v %v", res, err)
		committed := step.Index() > identity.StepUpdateInventory.Index()
		if committed {
			// The inventory names the target: the move is finished anyway.
			if err != nil {
				t.Errorf("failure at %s (after the commit): %v", step, err)
			}
			if res.Settled == "" || !strings.Contains(res.Settled, "finished the move") {
				t.Errorf("failure at %s: settled %q", step, res.Settled)
			}
		} else {
			if !errors.Is(err, errInjected) || !strings.Contains(err.Error(), "move to "+to+" failed at step "+string(step)) || strings.Contains(err.Error(), "\n") {
				t.Errorf("failure at %s: %v", step, err)
			}
			if step.Index() >= identity.StepCreateTarget.Index() && !strings.Contains(err.Error(), "undone") {
				t.Errorf("failure at %s does not say it was undone: %v", step, err)
			}
		}
		where := f.checkOneCopy(pub, id, "failure at "+string(step))
		if want := map[bool]string{true: to, false: from}[committed]; where != want {
			t.Errorf("failure at %s: the pub runs on %s, want %s", step, where, want)
		}
		if f.store.Moving(pub) {
			t.Errorf("failure at %s: the move is still journaled as in progress", step)
		}
		// Nothing of the pub is left on the hub it does not run on.
		if n := f.objectsOn(other(where), pub); n != 0 {
			t.Errorf("failure at %s: %d containers/volumes of the pub left on %s", step, n, other(where))
		}
	}
	noKey(t, key, outputs)
}

// TestMoveKilledAtEachStep kills buttctl (SIGKILL: no clean-up at all) at
// each step of a move, then checks that the pub never ran twice, and that
// the same move run again settles the interrupted one and ends with one
// copy, same identity, on the hub the inventory names.
func TestMoveKilledAtEachStep(t *testing.T) {
	if os.Getenv("BUTTCTL_TEST_MOVE_CHILD") != "" {
		moveChild()
		return
	}
	w := testworld.ForTest(t, 2)
	port, err := w.AllocPort()
	if err != nil {
		t.Fatal(err)
	}
	pub := testworld.UniqueName("mvkill")
	f := newWorldFleet(t, w, testworld.Pub{Name: pub, Hub: "hub-1", Port: port})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	if _, err := f.svc.Create(ctx, pub); err != nil {
		t.Fatal(err)
	}
	id := f.whoamiOn("hub-1", pub)
	fillData(t, f.svc, pub, 1<<20)
	key := f.privateKey("hub-1", pub)

	for _, step := range identity.Steps {
		from := f.hubInFile(pub)
		to := other(from)
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestMoveKilledAtEachStep$", "-test.count=1")
		cmd.Env = append(os.Environ(), "BUTTCTL_TEST_MOVE_CHILD="+strings.Join([]string{f.path, f.store.Dir(), pub, to, string(step)}, "\x1f"))
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("killed at %s: the child ended with %v:\n%s", step, err, out)
		}
		if strings.Contains(string(out), key[:40]) {
			t.Errorf("killed at %s: the child's output shows the private key", step)
		}
		// Killed: at most one copy runs (none, if it died between stop and start).
		if on := f.running(pub); len(on) > 1 {
			t.Fatalf("killed at %s: the pub runs on %v", step, on)
		}
		// The same command again settles it and moves.
		res, err := identity.Move(ctx, f.reload(), f.store, pub, identity.MoveOptions{To: to, PurgeSource: true})
		if err != nil {
			t.Fatalf("move again after a kill at %s: %v", step, err)
		}
		if step.Index() >= identity.StepCreateTarget.Index() && res.Settled == "" {
			t.Errorf("killed at %s: the move again did not say it settled the interrupted one: %+v", step, res)
		}
		if where := f.checkOneCopy(pub, id, "killed at "+string(step)+", then moved again"); where != to {
			t.Errorf("killed at %s and moved again: runs on %s, want %s", step, where, to)
		}
		if n := f.objectsOn(from, pub); n != 0 {
			t.Errorf("killed at %s: %d containers/volumes of the pub left on %s after --purge-source", step, n, from)
		}
	}
}

// moveChild is the buttctl that TestMoveKilledAtEachStep kills: a move
// whose step hook sends SIGKILL to its own process.
func moveChild() {
	args := strings.Split(os.Getenv("BUTTCTL_TEST_MOVE_CHILD"), "\x1f")
	path, storeDir, pub, to, step := args[0], args[1], args[2], args[3], identity.Step(args[4])
	inv, err := inventory.Load(path)
	if err != nil {
		fmt.Println(err)
		os.Exit(2)
	}
	conns := hubconn.New(inv, hubconn.Options{Pool: sshexec.PoolOptions{AgentSocket: sshexec.AgentNone, NoDefaultIdentities: true}})
	store, err := identity.OpenStore(storeDir)
	if err != nil {
		fmt.Println(err)
		os.Exit(2)
	}
	_, err = identity.Move(context.Background(), pubs.New(inv, conns), store, pub, identity.MoveOptions{To: to, PurgeSource: true, BeforeStep: func(s identity.Step) error {
		if s == step {
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
		return nil
	}})
	fmt.Println("the move ended without being killed:", err)
	os.Exit(3)
}

// TestMoveTargetPoweredOffMidCopy powers the target hub off while the
// data streams to it: the move is undone, the pub runs on the source, and
// what was left on the dead target cannot start when it comes back; the
// next move removes it and succeeds.
func TestMoveTargetPoweredOffMidCopy(t *testing.T) {
	w := testworld.Private(t, 2)
	port, err := w.AllocPort()
	if err != nil {
		t.Fatal(err)
	}
	pub := testworld.UniqueName("mvoff")
	f := newWorldFleet(t, w, testworld.Pub{Name: pub, Hub: "hub-1", Port: port})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if _, err := f.svc.Create(ctx, pub); err != nil {
		t.Fatal(err)
	}
	id := f.whoamiOn("hub-1", pub)
	fillData(t, f.svc, pub, 64<<20)

	var once sync.Once
	powerOff := make(chan error, 1)
	res, err := identity.Move(ctx, f.svc, f.store, pub, identity.MoveOptions{To: "hub-2", Progress: func(n int64) {
		if n > 4<<20 {
			once.Do(func() {
				// Synchronously: the rest of the data must meet a dead hub.
				powerOff <- w.Hub("hub-2").PowerOff(ctx)
			})
		}
	}})
	select {
	case perr := <-powerOff:
		if perr != nil {
			t.Fatal(perr)
		}
	default:
		t.Fatalf("the copy ended before 4 MB: %+v %v", res, err)
	}
	if err == nil || !strings.Contains(err.Error(), "failed at step copy") || !strings.Contains(err.Error(), "the pub runs on hub-1 again") {
		t.Fatalf("move to a hub powered off mid-copy: %v", err)
	}
	t.Logf("move error: %v", err)
	f.checkOneCopy(pub, id, "target powered off mid-copy")

	// Back on: whatever was left there does not start by itself.
	if err := w.Hub("hub-2").PowerOn(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "hub-2's engine", func() bool {
		api, err := w.Hub("hub-2").DockerClient()
		if err != nil {
			return false
		}
		defer api.Close()
		_, err = api.Ping(ctx, client.PingOptions{})
		return err == nil
	})
	if on := f.running(pub); len(on) != 1 || on[0] != "hub-1" {
		t.Fatalf("after hub-2 came back the pub runs on %v", on)
	}
	// The next move clears the leftovers and succeeds.
	res, err = identity.Move(ctx, f.reload(), f.store, pub, identity.MoveOptions{To: "hub-2"})
	if err != nil {
		t.Fatalf("move after hub-2 came back: %v", err)
	}
	if where := f.checkOneCopy(pub, id, "moved after hub-2 came back"); where != "hub-2" || res.Bytes < 64<<20 {
		t.Errorf("runs on %s, copied %d", where, res.Bytes)
	}
}
