package pubs_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/engine"
	"github.com/buttctl/buttctl/ops/pubs"
	"github.com/buttctl/buttctl/ops/pubs/pubstest"
	"github.com/buttctl/buttctl/ops/pubspec"
	"github.com/buttctl/buttctl/sshexec/sshdtest"
)

var ssbID = regexp.MustCompile(`^@[A-Za-z0-9+/]{43}=\.ed25519$`)

// TestPubLifecycle drives one pub through every operation on this machine's
// real Docker engine: through its local socket (hub "local"), and through a
// real sshd's streamlocal forwarding (hub "remote").
func TestPubLifecycle(t *testing.T) {
	needDocker(t)
	t.Run("local", func(t *testing.T) {
		pub, port := uniq("pt-life"), freePort(t)
		lifecycle(t, localInventory(t, fmt.Sprintf("  - {name: %s, hub: local, host: pub.example.org, port: %d}\n", pub, port)), pub, port, "pub.example.org")
	})
	t.Run("ssh", func(t *testing.T) {
		srv := sshdtest.Start(t)
		pub, port := uniq("pt-life"), freePort(t)
		// No host: the public host is the hub's address.
		lifecycle(t, sshInventory(t, srv, fmt.Sprintf("  - {name: %s, hub: remote, port: %d}\n", pub, port)), pub, port, srv.IP)
	})
}

func lifecycle(t *testing.T, inv *inventory.Inventory, pub string, port int, publicHost string) {
	s := service(t, inv)
	hub := inv.Pubs[0].Hub
	api := raw(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	res, err := s.Create(ctx, pub)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Started || !res.NewVolume || res.Pulled {
		t.Errorf("create result %+v", res)
	}
	if _, err := s.Create(ctx, pub); err == nil || !strings.Contains(err.Error(), "already has a container") {
		t.Errorf("second create: %v", err)
	}

	var st pubs.Status
	waitFor(t, "the pub to be healthy", func() bool {
		st = statusOf(t, s, pub)
		return st.Health == "healthy" && st.Identity != ""
	})
	if st.State != "running" || st.Hub != hub || st.Port != port || st.Image != pubstest.Image || st.Drift || st.Orphan || !ssbID.MatchString(st.Identity) {
		t.Errorf("status %+v", st)
	}
	id, err := s.Whoami(ctx, pub)
	if err != nil || id != st.Identity {
		t.Fatalf("whoami = %q, %v; list said %q", id, err, st.Identity)
	}

	// The container is the spec, exactly where it matters.
	ins, err := s.Inspect(ctx, pub)
	if err != nil {
		t.Fatal(err)
	}
	var c container.InspectResponse
	if err := jsonUnmarshal(ins.Container, &c); err != nil {
		t.Fatal(err)
	}
	if c.Name != "/buttctl-pub-"+pub || c.Config.Labels[engine.LabelManaged] != "true" || c.Config.Labels[engine.LabelPub] != pub ||
		c.Config.Labels[engine.LabelSpec] != pubspec.Hash(ins.Spec) || ins.SpecHash != pubspec.Hash(ins.Spec) {
		t.Errorf("name %s labels %v spec hash %s", c.Name, c.Config.Labels, pubspec.Hash(ins.Spec))
	}
	mustContain(t, "env", strings.Join(c.Config.Env, " "), "ssb_host="+publicHost)
	if len(c.Mounts) != 1 || c.Mounts[0].Name != "buttctl-pub-"+pub+"-data" || c.Mounts[0].Destination != "/home/node/.ssb" {
		t.Errorf("mounts %+v", c.Mounts)
	}
	if c.HostConfig.Memory != 512<<20 || c.HostConfig.RestartPolicy.Name != "unless-stopped" || strings.Join(c.HostConfig.SecurityOpt, ",") != "no-new-privileges:true" ||
		c.HostConfig.LogConfig.Config["max-size"] != "10m" || string(c.HostConfig.NetworkMode) != "buttctl" {
		t.Errorf("host config: memory %d restart %v security %v log %v network %s", c.HostConfig.Memory, c.HostConfig.RestartPolicy, c.HostConfig.SecurityOpt, c.HostConfig.LogConfig, c.HostConfig.NetworkMode)
	}
	if c.Config.Healthcheck == nil || c.Config.Healthcheck.Interval != time.Second {
		t.Errorf("health check %+v", c.Config.Healthcheck)
	}
	// The port is really published on the hub.
	conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 5*time.Second)
	if err != nil {
		t.Fatalf("pub's port %d: %v", port, err)
	}
	banner := make([]byte, 100)
	n, _ := conn.Read(banner)
	conn.Close()
	if strings.TrimSpace(string(banner[:n])) != id {
		t.Errorf("port %d answered %q", port, banner[:n])
	}

	// Invites carry the public host and port, never the container's view.
	invite, err := s.Invite(ctx, pub, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(invite, fmt.Sprintf("%s:%d:%s~", publicHost, port, id)) || strings.Contains(invite, "[::]") {
		t.Errorf("invite %q", invite)
	}
	if _, err := s.Invite(ctx, pub, 0); !errors.Is(err, pubs.ErrBadInput) || !strings.HasPrefix(err.Error(), "pub "+pub+" on "+hub+": --uses 0") {
		t.Errorf("invite for 0 uses: %v", err)
	}

	// Logs: all, tail, grep, since.
	var out, errOut bytes.Buffer
	if err := s.Logs(ctx, pub, pubs.LogsOptions{}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	mustContain(t, "logs", out.String(), fmt.Sprintf("sbot: serving %s on :%d as %s", id, port, publicHost))
	out.Reset()
	if err := s.Logs(ctx, pub, pubs.LogsOptions{Grep: regexp.MustCompile(`nothing matches this`)}, &out, &errOut); err != nil || out.Len() != 0 {
		t.Errorf("grep for nothing: %q, %v", out.String(), err)
	}
	if err := s.Logs(ctx, pub, pubs.LogsOptions{Since: "1h", Tail: 1, Grep: regexp.MustCompile(`serving`)}, &out, &errOut); err != nil || strings.Count(out.String(), "\n") != 1 {
		t.Errorf("since/tail/grep: %q, %v", out.String(), err)
	}
	out.Reset()
	if err := s.Logs(ctx, pub, pubs.LogsOptions{Since: "2099-01-01"}, &out, &errOut); err != nil || out.Len() != 0 {
		t.Errorf("logs since the future: %q, %v", out.String(), err)
	}
	if err := s.Logs(ctx, pub, pubs.LogsOptions{Since: "yesterday"}, &out, &errOut); !errors.Is(err, pubs.ErrBadInput) || !strings.HasPrefix(err.Error(), "pub "+pub+" on "+hub+": --since \"yesterday\" is not") {
		t.Errorf("invalid --since: %v", err)
	}

	// Follow ends when the context does, with what was logged until then.
	followCtx, stopFollow := context.WithCancel(ctx)
	followed := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- s.Logs(followCtx, pub, pubs.LogsOptions{Follow: true}, followed, &errOut) }()
	waitFor(t, "followed logs", func() bool { return strings.Contains(followed.String(), "serving") })
	stopFollow()
	if err := <-done; err != nil {
		t.Errorf("follow: %v", err)
	}

	// Exec.
	var echoed bytes.Buffer
	code, err := s.Exec(ctx, pub, engine.ExecOptions{Cmd: []string{"sbot", "cat"}, Stdin: strings.NewReader("ping\n"), Stdout: &echoed})
	if err != nil || code != 0 || echoed.String() != "ping\n" {
		t.Errorf("exec: %q %d %v", echoed.String(), code, err)
	}
	if code, err := s.Exec(ctx, pub, engine.ExecOptions{Cmd: []string{"sbot", "nonsense"}}); err != nil || code != 1 {
		t.Errorf("failing exec: %d %v", code, err)
	}

	// kill -9 of the pub's process: the restart policy brings it back, same identity.
	before := statusOf(t, s, pub)
	details, err := api.ContainerInspect(ctx, "buttctl-pub-"+pub, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(details.Container.State.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the restart policy to restart the killed pub", func() bool {
		st = statusOf(t, s, pub)
		return st.Restarts > before.Restarts && st.State == "running" && st.Identity != ""
	})
	if st.Identity != id {
		t.Errorf("identity after kill -9: %s, was %s", st.Identity, id)
	}

	// A health check turning unhealthy, and back.
	if code, err := s.Exec(ctx, pub, engine.ExecOptions{Cmd: []string{"sbot", "fault", "unhealthy"}}); err != nil || code != 0 {
		t.Fatalf("fault injection: %d %v", code, err)
	}
	waitFor(t, "the pub to turn unhealthy", func() bool { return statusOf(t, s, pub).Health == "unhealthy" })
	if _, err := s.Whoami(ctx, pub); err == nil || !strings.HasPrefix(err.Error(), "pub "+pub+" on "+hub+": sbot whoami exited with 1: ") {
		t.Errorf("whoami of an unhealthy pub: %v", err)
	}
	if _, err := s.Exec(ctx, pub, engine.ExecOptions{Cmd: []string{"sbot", "fault", "clear"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the pub to be healthy again", func() bool { return statusOf(t, s, pub).Health == "healthy" })

	// Restart, stop, start, kill.
	if r, err := s.Restart(ctx, pub); err != nil || !r.Done {
		t.Fatalf("restart: %+v %v", r, err)
	}
	if got := waitWhoami(t, s, pub); got != id {
		t.Errorf("identity after restart: %s, was %s", got, id)
	}
	if r, err := s.Stop(ctx, pub); err != nil || !r.Done || r.State != "exited" {
		t.Fatalf("stop: %+v %v", r, err)
	}
	if st := statusOf(t, s, pub); st.State != "exited" || st.Uptime != 0 || st.Identity != "" {
		t.Errorf("stopped pub listed as %+v", st)
	} else if st.OperatorStop == nil || st.OperatorStop.By != s.Operator || !strings.Contains(s.Operator, "@") {
		t.Errorf("pub stop left no operator-stop record by %q: %+v", s.Operator, st.OperatorStop)
	}
	if r, err := s.Stop(ctx, pub); err != nil || r.Done {
		t.Errorf("stop of a stopped pub: %+v %v", r, err)
	}
	if _, err := s.Whoami(ctx, pub); err == nil || !strings.Contains(err.Error(), "not running (exited): start it first") {
		t.Errorf("whoami of a stopped pub: %v", err)
	}
	if _, err := s.Kill(ctx, pub, ""); err == nil || !strings.Contains(err.Error(), "not running") {
		t.Errorf("kill of a stopped pub: %v", err)
	}
	if r, err := s.Start(ctx, pub); err != nil || !r.Done {
		t.Fatalf("start: %+v %v", r, err)
	}
	waitWhoami(t, s, pub)
	if _, err := s.Stop(ctx, pub); err != nil {
		t.Fatal(err)
	}
	if r, err := s.Restart(ctx, pub); err != nil || !r.Done {
		t.Fatalf("restart of a stopped pub: %+v %v", r, err)
	}
	if st := statusOf(t, s, pub); st.OperatorStop != nil {
		t.Errorf("pub start/restart kept the operator-stop record: %+v", st.OperatorStop)
	}
	waitWhoami(t, s, pub)
	if r, err := s.Kill(ctx, pub, "SIGKILL"); err != nil || !r.Done {
		t.Fatalf("kill: %+v %v", r, err)
	}
	// pub kill is the operator's: Docker does not restart a container it killed on request.
	if st := statusOf(t, s, pub); st.State != "exited" {
		t.Errorf("after pub kill: %+v", st)
	}

	// rm keeps the volume; create again finds the same identity.
	rm, err := s.Remove(ctx, pub, false)
	if err != nil || !rm.ContainerRemoved || rm.VolumeRemoved || !rm.VolumeExists {
		t.Fatalf("rm: %+v %v", rm, err)
	}
	if st := statusOf(t, s, pub); st.State != pubs.StateMissing {
		t.Errorf("after rm: %+v", st)
	}
	if _, err := s.Start(ctx, pub); err == nil || err.Error() != "pub "+pub+" on "+hub+": no container (create it with 'buttctl pub create "+pub+"'): not found" {
		t.Errorf("start without a container: %v", err)
	}
	if res, err := s.Create(ctx, pub); err != nil || res.NewVolume {
		t.Fatalf("recreate: %+v %v", res, err)
	}
	if got := waitWhoami(t, s, pub); got != id {
		t.Errorf("identity after recreate: %s, was %s", got, id)
	}

	// rm --purge removes the volume too.
	rm, err = s.Remove(ctx, pub, true)
	if err != nil || !rm.ContainerRemoved || !rm.VolumeRemoved {
		t.Fatalf("rm --purge: %+v %v", rm, err)
	}
	if _, err := api.VolumeInspect(ctx, "buttctl-pub-"+pub+"-data", client.VolumeInspectOptions{}); err == nil {
		t.Error("volume still there after --purge")
	}
	if _, err := s.Remove(ctx, pub, true); err == nil || !strings.Contains(err.Error(), "no container and no volume to remove") {
		t.Errorf("rm of nothing: %v", err)
	}
}

func waitWhoami(t *testing.T, s *pubs.Service, pub string) string {
	t.Helper()
	var id string
	waitFor(t, "whoami of "+pub, func() bool {
		var err error
		id, err = s.Whoami(context.Background(), pub)
		return err == nil
	})
	return id
}
