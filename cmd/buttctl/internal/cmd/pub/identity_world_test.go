package pub

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/iostreams"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/output"
	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/engine"
	"github.com/buttctl/buttctl/ops/hubconn"
	"github.com/buttctl/buttctl/ops/hubconn/hubconntest"
	"github.com/buttctl/buttctl/ops/identity"
	"github.com/buttctl/buttctl/ops/pubs"
	"github.com/buttctl/buttctl/ops/pubs/pubstest"
	"github.com/buttctl/buttctl/ops/testworld"
)

// TestMoveCommandOnTheWorld moves a pub between two hubs of the test world
// (each its own sshd and dockerd) with `pub move` as a user runs it, on a
// terminal and off one, and searches every output, the hubs' sshd and
// dockerd logs and the pub's logs for its private key.
func TestMoveCommandOnTheWorld(t *testing.T) {
	w := testworld.ForTest(t, 2)
	port, err := w.AllocPort()
	if err != nil {
		t.Fatal(err)
	}
	pub := testworld.UniqueName("cmdmv")
	path := filepath.Join(t.TempDir(), "buttctl.yaml")
	if err := w.WriteInventory(path, testworld.Pub{Name: pub, Hub: "hub-1", Port: port}); err != nil {
		t.Fatal(err)
	}
	storeDir := filepath.Join(t.TempDir(), "state")
	store := func() (*identity.Store, error) { return identity.OpenStore(storeDir) }
	// Each command loads the inventory anew, as buttctl does.
	streams := func() (*iostreams.IOStreams, *bytes.Buffer, *bytes.Buffer, Pubs) {
		io, _, out, errOut := iostreams.Test()
		return io, out, errOut, func() (*pubs.Service, error) {
			inv, err := inventory.Load(path)
			if err != nil {
				return nil, err
			}
			conns := hubconn.New(inv, hubconntest.Options())
			t.Cleanup(func() { conns.Close() })
			return pubs.New(inv, conns), nil
		}
	}
	t.Cleanup(func() { removeEverywhere(w, pub) })
	var printed []string

	io, out, errOut, ps := streams()
	if err := createRun(&CreateOptions{IO: io, Pubs: ps, Names: []string{pub}, Timeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	printed = append(printed, out.String(), errOut.String())
	id := worldWhoami(t, w, "hub-1", pub)

	// On a terminal: progress and the steps on stderr, the summary on stdout.
	io, out, errOut, ps = streams()
	io.SetTTY(false, true, true)
	if err := moveRun(&MoveOptions{IO: io, Pubs: ps, Store: store, Name: pub, To: "hub-2", Timeout: 5 * time.Minute}); err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	printed = append(printed, out.String(), errOut.String())
	if !strings.HasPrefix(out.String(), "moved "+pub+" from hub-1 to hub-2 ("+id+", ") ||
		!strings.Contains(out.String(), "its volume buttctl-pub-"+pub+"-data is kept on hub-1: remove it with 'buttctl pub move "+pub+" --to hub-2 --purge-source'") {
		t.Errorf("move printed %q", out)
	}
	for _, step := range identity.Steps[:len(identity.Steps)-1] {
		if !strings.Contains(errOut.String(), "  "+string(step)+" done") {
			t.Errorf("stderr on a terminal lacks step %s:\n%s", step, errOut)
		}
	}
	if got := worldWhoami(t, w, "hub-2", pub); got != id {
		t.Errorf("on hub-2 the pub is %s, was %s", got, id)
	}
	text, _ := os.ReadFile(path)
	if !strings.Contains(string(text), "hub: hub-2") || !strings.Contains(string(text), "# buttctl inventory of test world") {
		t.Errorf("inventory after the move:\n%s", text)
	}

	// Again, off a terminal, with --purge-source and -o json.
	io, out, errOut, ps = streams()
	if err := moveRun(&MoveOptions{IO: io, Pubs: ps, Store: store, Name: pub, To: "hub-2", PurgeSource: true, Output: output.JSON, Timeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	printed = append(printed, out.String(), errOut.String())
	var res map[string]any
	if err := json.Unmarshal(out.Bytes(), &res); err != nil || res["already_there"] != true || res["source_purged"] != true || errOut.Len() != 0 {
		t.Errorf("move --purge-source -o json: %s %v (stderr %q)", out, err, errOut)
	}

	// A hub that is not in the inventory is a usage error.
	io, _, _, ps = streams()
	wantUsage(t, moveRun(&MoveOptions{IO: io, Pubs: ps, Store: store, Name: pub, To: "hub-9", Timeout: time.Minute}), "--to hub-9: no such hub")

	// The secret: printed nowhere, logged nowhere.
	s, _ := store()
	secret, _, err := s.SecretOf(pub)
	if err != nil {
		t.Fatal(err)
	}
	key := identity.PrivateKey(secret)
	logs := worldLogs(t, w, pub)
	for i, p := range printed {
		if strings.Contains(p, key[:40]) {
			t.Errorf("output %d shows the private key", i)
		}
	}
	for name, l := range logs {
		if strings.Contains(l, key[:40]) {
			t.Errorf("%s shows the private key", name)
		}
	}
}

// worldWhoami asks the pub's container on hub, bypassing buttctl.
func worldWhoami(t *testing.T, w *testworld.World, hub, pub string) string {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		res, err := w.Hub(hub).ExecIn(context.Background(), "buttctl-pub-"+pub, "sbot", "whoami")
		if err == nil {
			if id, err := pubs.ParseWhoami([]byte(res.Stdout)); err == nil {
				return id
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("pub %s on %s never answered whoami: %v", pub, hub, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// worldLogs reads every hub's logs (sshd, dockerd, boot) and the pub's
// container logs on every hub.
func worldLogs(t *testing.T, w *testworld.World, pub string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, h := range w.Hubs {
		files, _ := filepath.Glob(filepath.Join(h.Dir, "log", "*"))
		for _, f := range files {
			b, _ := os.ReadFile(f)
			out[f] = string(b)
		}
		api, err := h.DockerClient()
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		res, err := api.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("label", engine.LabelPub+"="+pub)})
		if err == nil {
			for _, c := range res.Items {
				if rc, err := api.ContainerLogs(ctx, c.ID, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true}); err == nil {
					var b bytes.Buffer
					_, _ = b.ReadFrom(rc)
					rc.Close()
					out[h.Name+" "+c.ID[:12]] = b.String()
				}
			}
		}
		api.Close()
	}
	if len(out) < len(w.Hubs) {
		t.Fatalf("found only %d logs to search", len(out))
	}
	return out
}

// removeEverywhere removes the pub's containers and volume from every hub.
func removeEverywhere(w *testworld.World, pub string) {
	for _, h := range w.Hubs {
		if api, err := h.DockerClient(); err == nil {
			pubstest.RemovePubs(api, pub)
			api.Close()
		}
	}
}
