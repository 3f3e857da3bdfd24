package tui

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"
	"github.com/moby/moby/client"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/pubs/pubstest"
	"github.com/buttctl/buttctl/ops/pubspec"
	"github.com/buttctl/buttctl/ops/testworld"
)

// waitOutput reads the program's output until it shows want. The screen is
// written as changes (cells that did not change are skipped), so want must
// be a word drawn in one piece.
func waitOutput(t *testing.T, tm *teatest.TestModel, want string, d time.Duration) {
	t.Helper()
	var seen bytes.Buffer
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		seen.Write(b)
		return strings.Contains(ansi.Strip(seen.String()), want)
	}, teatest.WithDuration(d), teatest.WithCheckInterval(50*time.Millisecond))
}

// probed is the console with what its status line says published after
// every Update, for a test to wait on while the program runs.
type probed struct {
	*Model
	said atomic.Value // what the status line says, or its last error
}

func (p *probed) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	_, cmd := p.Model.Update(msg)
	p.said.Store(p.Model.flash + p.Model.lastErr)
	return p, cmd
}

// TestProgramAppliesThePlan runs the whole program (teatest) on the real
// test world: a pub the inventory wants but no hub runs shows in the Plan
// view; a, then y, applies it through fleet.Apply, and the pub runs on its
// hub's engine.
func TestProgramAppliesThePlan(t *testing.T) {
	w := testworld.ForTest(t, 2)
	hub := w.Hubs[1]
	name := testworld.UniqueName("tea")
	port, err := w.AllocPort()
	if err != nil {
		t.Fatal(err)
	}
	path := t.TempDir() + "/buttctl.yaml"
	if err := w.WriteInventory(path, testworld.Pub{Name: name, Hub: hub.Name, Port: port}); err != nil {
		t.Fatal(err)
	}
	docker, err := hub.DockerClient()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		pubstest.RemovePubs(docker, name)
		docker.Close()
	})
	inv, err := inventory.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	m := &probed{Model: New(inv, Options{Dark: ptr(true), Refresh: time.Hour})}
	t.Cleanup(func() { m.Close() })
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(120, 30),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.Ascii)))

	waitOutput(t, tm, "missing", 60*time.Second)
	tm.Type(":plan")
	tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
	waitOutput(t, tm, "a applies it", 10*time.Second)
	tm.Type("a")
	waitOutput(t, tm, "Apply 1 action?", 10*time.Second)
	tm.Type("y")

	deadline := time.Now().Add(90 * time.Second)
	for {
		res, err := docker.ContainerInspect(context.Background(), pubspec.ContainerName(name), client.ContainerInspectOptions{})
		if err == nil && res.Container.State != nil && res.Container.State.Running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the applied plan did not start %s on %s: %v", name, hub.Name, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// apply holds the inventory lock until its report is out
	for h, _ := inventory.Holder(path, ""); h != nil; h, _ = inventory.Holder(path, "") {
		if time.Now().After(deadline) {
			t.Fatalf("apply still holds the inventory: %v", h)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for said, _ := m.said.Load().(string); !strings.HasPrefix(said, "applied:"); said, _ = m.said.Load().(string) {
		if time.Now().After(deadline) {
			tm.Type("q")
			fm := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*probed).Model
			var evs []string
			for i := range fm.events.len() {
				e := fm.events.at(i)
				evs = append(evs, e.Source+" "+e.Pub+" "+e.Action+" "+e.Detail)
			}
			t.Fatalf("the console did not say the plan was applied; it says %q / %q / %q; applying %v; view %v; dialog %T; steps %+v\nevents:\n%s", said, fm.flash, fm.lastErr, fm.plan.applying, fm.view, fm.dialog, fm.plan.steps, strings.Join(evs, "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	tm.Type("q")
	final := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*probed).Model
	if final.plan.applying || final.lastErr != "" || final.flash != "applied: 1 done, 0 failed, 0 skipped, 0 blocked" {
		t.Errorf("after the apply: applying %v, said %q, last error %q", final.plan.applying, final.flash, final.lastErr)
	}
	var applied bool
	for i := range final.events.len() {
		e := final.events.at(i)
		if e.Source == "console" && e.Action == "apply create" && e.Pub == name && e.Detail == "done" {
			applied = true
		}
	}
	if !applied {
		t.Error("the applied action is an event")
	}
	_, _ = io.Copy(io.Discard, tm.Output())
}
