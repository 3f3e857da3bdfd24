package pub

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/iostreams"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/output"
	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/hubconn"
	"github.com/buttctl/buttctl/ops/hubconn/hubconntest"
	"github.com/buttctl/buttctl/ops/pubs"
	"github.com/buttctl/buttctl/ops/pubs/pubstest"
)

// world is an inventory on this machine's real Docker engine (hub "local")
// plus a hub whose engine does not exist, and the streams of one command.
type world struct {
	t   *testing.T
	inv *inventory.Inventory
}

func newWorld(t *testing.T, pubsYAML string) *world {
	t.Helper()
	return newWorldOf(t, `  - {name: local, local: true}
  - {name: dead, local: true, docker_socket: /nonexistent/buttctl-test/docker.sock}
`, pubsYAML)
}

// newWorldOf is newWorld with other hubs.
func newWorldOf(t *testing.T, hubsYAML, pubsYAML string) *world {
	t.Helper()
	pubstest.Require(t)
	text := fmt.Sprintf(`version: 1
defaults: {image: %q}
hubs:
%spubs:
%s`, pubstest.Image, hubsYAML, pubsYAML)
	inv, err := inventory.Parse("test.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	conns := hubconn.New(inv, hubconntest.Options())
	t.Cleanup(func() { conns.Close() })
	api, err := client.New(client.WithHost("unix://" + pubstest.Socket))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		var names []string
		for _, p := range inv.Pubs {
			names = append(names, p.Name)
		}
		pubstest.RemovePubs(api, names...)
		api.Close()
	})
	return &world{t: t, inv: inv}
}

// streams returns fresh test streams and the pub operations over the world.
func (w *world) streams() (*iostreams.IOStreams, *bytes.Buffer, *bytes.Buffer, Pubs) {
	io, _, out, errOut := iostreams.Test()
	conns := hubconn.New(w.inv, hubconntest.Options())
	w.t.Cleanup(func() { conns.Close() })
	return io, out, errOut, func() (*pubs.Service, error) { return pubs.New(w.inv, conns), nil }
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func uniq(prefix string) string { return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()%1e9) }

func TestCommandsOnTheLocalHub(t *testing.T) {
	a, b := uniq("ct-a"), uniq("ct-b")
	pa := freePort(t)
	w := newWorld(t, fmt.Sprintf("  - {name: %s, hub: local, port: %d}\n  - {name: %s, hub: dead, port: %d}\n", a, pa, b, freePort(t)))

	// create: one pub works, the other's hub is unreachable; exit 1 naming it.
	io, out, _, ps := w.streams()
	err := createRun(&CreateOptions{IO: io, Pubs: ps, Names: []string{a, b}, Timeout: time.Minute})
	if want := fmt.Sprintf("created and started %s on local (port %d, new volume buttctl-pub-%s-data)\n", a, pa, a); out.String() != want {
		t.Errorf("create printed %q, want %q", out.String(), want)
	}
	if err == nil || cmdutil.ExitCode(err) != 1 || !strings.HasPrefix(err.Error(), "pub "+b+" on dead: Docker engine unreachable") {
		t.Errorf("create: %v", err)
	}

	// list -o json: the documented fields, and exit 1 for the dead hub.
	var rows []map[string]any
	deadline := time.Now().Add(30 * time.Second)
	for {
		io, out, _, ps = w.streams()
		err = listRun(&ListOptions{IO: io, Pubs: ps, Output: output.JSON, Timeout: time.Minute})
		if err == nil || !strings.HasPrefix(err.Error(), "dead: Docker engine unreachable") {
			t.Fatalf("list: %v", err)
		}
		var all []map[string]any
		if err := json.Unmarshal([]byte(out.String()), &all); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		rows = rows[:0] // other tests' pubs run on this engine too: keep ours
		for _, r := range all {
			if r["name"] == a || r["name"] == b {
				rows = append(rows, r)
			}
		}
		if len(rows) == 2 && rows[0]["health"] == "healthy" || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(rows) != 2 {
		t.Fatalf("list -o json: rows of %s and %s: %v", a, b, rows)
	}
	for _, r := range rows {
		for _, k := range []string{"name", "hub", "state", "health", "uptime", "restarts", "image", "port", "identity", "drift"} {
			if _, ok := r[k]; !ok {
				t.Errorf("row %v lacks %s", r, k)
			}
		}
	}
	if rows[0]["name"] != a || rows[0]["state"] != "running" || rows[0]["health"] != "healthy" || rows[0]["port"] != float64(pa) ||
		!strings.HasSuffix(fmt.Sprint(rows[0]["identity"]), ".ed25519") || rows[1]["state"] != "unreachable" {
		t.Errorf("rows %v", rows)
	}
	id := fmt.Sprint(rows[0]["identity"])

	// list as a table, off a terminal: tab-separated, RFC 3339 start time.
	io, out, _, ps = w.streams()
	_ = listRun(&ListOptions{IO: io, Pubs: ps, Hubs: []string{"local"}, Output: output.Table})
	// Other tests' containers may be on this engine too: a's row only.
	var lines []string
	for i, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if i == 0 || strings.HasPrefix(l, a+"\t") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 2 || lines[0] != "NAME\tHUB\tSTATE\tHEALTH\tSTARTED\tRESTARTS\tIMAGE\tPORT\tIDENTITY\tBACKUP" {
		t.Fatalf("table:\n%s", out)
	}
	cells := strings.Split(lines[1], "\t")
	if _, err := time.Parse(time.RFC3339, cells[4]); err != nil || cells[0] != a || cells[8] != id || cells[9] != "never" {
		t.Errorf("row %q", cells)
	}
	// On a terminal: uptime and a short id.
	io, out, _, ps = w.streams()
	io.SetTTY(false, true, false)
	_ = listRun(&ListOptions{IO: io, Pubs: ps, Hubs: []string{"local"}, Output: output.Table})
	if !strings.Contains(out.String(), "UPTIME") || !strings.Contains(out.String(), id[:9]+"…") || strings.Contains(out.String(), id) {
		t.Errorf("terminal table:\n%s", out)
	}

	// whoami, invite.
	io, out, _, ps = w.streams()
	if err := whoamiRun(&WhoamiOptions{IO: io, Pubs: ps, Name: a, Output: output.Table}); err != nil || out.String() != id+"\n" {
		t.Errorf("whoami: %q %v", out, err)
	}
	io, out, _, ps = w.streams()
	if err := inviteRun(&InviteOptions{IO: io, Pubs: ps, Name: a, Uses: 2}); err != nil || !strings.HasPrefix(out.String(), fmt.Sprintf("localhost:%d:%s~", pa, id)) {
		t.Errorf("invite: %q %v", out, err)
	}

	// logs: grep, and an invalid --since is a usage error naming pub and hub.
	io, out, _, ps = w.streams()
	if err := logsRun(&LogsOptions{IO: io, Pubs: ps, Name: a, Grep: "serving", Tail: 10}); err != nil || !strings.Contains(out.String(), "serving "+id) {
		t.Errorf("logs: %q %v", out, err)
	}
	io, _, _, ps = w.streams()
	err = logsRun(&LogsOptions{IO: io, Pubs: ps, Name: a, Since: "last tuesday"})
	if cmdutil.ExitCode(err) != 2 || !strings.HasPrefix(err.Error(), "pub "+a+" on local: --since \"last tuesday\" is not") {
		t.Errorf("logs --since: %v (exit %d)", err, cmdutil.ExitCode(err))
	}

	// exec: output and exit status pass through.
	io, out, _, ps = w.streams()
	if err := execRun(&ExecOptions{IO: io, Pubs: ps, Name: a, Argv: []string{"sbot", "whoami"}}); err != nil || !strings.Contains(out.String(), id) {
		t.Errorf("exec: %q %v", out, err)
	}
	io, _, errOut, ps := w.streams()
	err = execRun(&ExecOptions{IO: io, Pubs: ps, Name: a, Argv: []string{"sbot", "nonsense"}})
	if cmdutil.ExitCode(err) != 1 || !strings.Contains(errOut.String(), "unknown command") {
		t.Errorf("failing exec: %v %q", err, errOut)
	}

	// inspect.
	io, out, _, ps = w.streams()
	if err := inspectRun(&InspectOptions{IO: io, Pubs: ps, Name: a, Output: output.JSON}); err != nil {
		t.Fatal(err)
	}
	var ins map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out.String()), &ins); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range ins {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if strings.Join(keys, ",") != "container,spec,spec_hash,status" {
		t.Errorf("inspect keys %v", keys)
	}

	// stop, start, restart, kill: one line each.
	for _, c := range []struct {
		run  func(*ActionOptions) error
		want string
	}{
		{func(o *ActionOptions) error { return actionRun(o, stopAct, "stopped", "was not running") }, "stopped " + a + " on local\n"},
		{func(o *ActionOptions) error { return actionRun(o, stopAct, "stopped", "was not running") }, a + " on local was not running\n"},
		{func(o *ActionOptions) error { return actionRun(o, startAct, "started", "was already running") }, "started " + a + " on local\n"},
		{func(o *ActionOptions) error { return actionRun(o, restartAct, "restarted", "") }, "restarted " + a + " on local\n"},
		{func(o *ActionOptions) error { return actionRun(o, killAct, "killed", "") }, "killed " + a + " on local\n"},
	} {
		io, out, _, ps = w.streams()
		if err := c.run(&ActionOptions{IO: io, Pubs: ps, Names: []string{a}, Timeout: time.Minute}); err != nil || out.String() != c.want {
			t.Errorf("got %q, %v; want %q", out, err, c.want)
		}
	}
	io, _, _, ps = w.streams()
	if err := actionRun(&ActionOptions{IO: io, Pubs: ps, Names: []string{"nope"}}, startAct, "started", ""); err == nil || !strings.HasPrefix(err.Error(), "pub nope is not in the inventory test.yaml") {
		t.Errorf("start of an unknown pub: %v", err)
	}

	// rm keeps the volume; rm --purge deletes it.
	io, out, _, ps = w.streams()
	if err := rmRun(&RmOptions{IO: io, Pubs: ps, Name: a}); err != nil || out.String() != fmt.Sprintf("removed %s's container on local; kept volume buttctl-pub-%s-data with its identity\n", a, a) {
		t.Errorf("rm: %q %v", out, err)
	}
	io, out, _, ps = w.streams()
	if err := rmRun(&RmOptions{IO: io, Pubs: ps, Name: a, Purge: true, Yes: true}); err != nil || out.String() != fmt.Sprintf("removed %s's volume buttctl-pub-%s-data (identity deleted) on local\n", a, a) {
		t.Errorf("rm --purge: %q %v", out, err)
	}
}

func TestRmPurgeAsksOnATerminal(t *testing.T) {
	a := uniq("ct-purge")
	w := newWorld(t, fmt.Sprintf("  - {name: %s, hub: local, port: %d}\n", a, freePort(t)))
	io, _, _, ps := w.streams()
	if err := createRun(&CreateOptions{IO: io, Pubs: ps, Names: []string{a}, Timeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	io, out, errOut, ps := w.streams()
	io.In = strings.NewReader("not-the-name\n")
	if err := rmRun(&RmOptions{IO: io, Pubs: ps, Name: a, Purge: true}); err == nil || err.Error() != "pub "+a+": not confirmed, nothing removed" || out.Len() != 0 {
		t.Errorf("unconfirmed purge: %v %q", err, out)
	}
	if !strings.Contains(errOut.String(), "Type the pub's name to confirm") {
		t.Errorf("prompt: %q", errOut)
	}
	io, out, _, ps = w.streams()
	io.In = strings.NewReader(a + "\n")
	if err := rmRun(&RmOptions{IO: io, Pubs: ps, Name: a, Purge: true}); err != nil || !strings.Contains(out.String(), "(identity deleted)") {
		t.Errorf("confirmed purge: %v %q", err, out)
	}
}

var (
	startAct = func(ctx context.Context, s *pubs.Service, o *ActionOptions, n string) (pubs.Result, error) {
		return s.Start(ctx, n)
	}
	stopAct = func(ctx context.Context, s *pubs.Service, o *ActionOptions, n string) (pubs.Result, error) {
		return s.Stop(ctx, n)
	}
	restartAct = func(ctx context.Context, s *pubs.Service, o *ActionOptions, n string) (pubs.Result, error) {
		return s.Restart(ctx, n)
	}
	killAct = func(ctx context.Context, s *pubs.Service, o *ActionOptions, n string) (pubs.Result, error) {
		return s.Kill(ctx, n, o.Signal)
	}
)
