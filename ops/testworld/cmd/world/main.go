// Command world starts, inspects, breaks and stops a buttctl test world
// (package ops/testworld) from the shell: `make test`, `make demo` and
// `make clean-world` use it, and so can a developer debugging a test.
//
//	world up    [--dir .world] [--hubs 3] [--pubs 0] [--run-pubs=true]   start a world (stopping the one recorded in dir)
//	world down  [--dir .world]                         stop the world recorded in dir, and leftovers
//	world status [--dir .world]                        hubs, their sshd and engine, containers on each
//	world env   [--dir .world]                         shell exports for buttctl and go test
//	world wait-healthy [--dir .world]                  wait until every buttctl-managed container is healthy (60s)
//	world hub <action> <hub> [--dir .world]            poweroff|poweron|cut|restore|restart-engine|stop-engine|start-engine|kill-sshd|start-sshd
//	world clean-leftovers                              stop worlds of test processes that have ended
//	world pub-image                                    build buttctl/testpub on this machine's engine (make run)
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/buttctl/buttctl/ops/engine"
	"github.com/buttctl/buttctl/ops/testworld"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "world: %v\n", err)
		var usage usageError
		if errors.As(err, &usage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

type usageError struct{ error }

const usage = `usage: world up|down|status|env|wait-healthy|hub|clean-leftovers|pub-image [flags]  (see ops/testworld/cmd/world)`

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return usageError{errors.New(usage)}
	}
	verb, args := args[0], args[1:]
	fs := flag.NewFlagSet("world "+verb, flag.ContinueOnError)
	dir := fs.String("dir", ".world", "directory of the world's state, keys, inventory and logs")
	hubs := fs.Int("hubs", 3, "number of hubs (up)")
	pubs := fs.Int("pubs", 0, "pubs spread over the hubs, written into the inventory (up)")
	runPubs := fs.Bool("run-pubs", true, "start the pubs on the hubs' engines directly; false leaves that to buttctl (up)")
	var pos []string
	if verb == "hub" { // world hub <action> <hub> [flags]
		for len(args) > 0 && !strings.HasPrefix(args[0], "-") {
			pos, args = append(pos, args[0]), args[1:]
		}
	}
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	statePath := filepath.Join(*dir, "state.json")
	switch verb {
	case "up":
		return up(ctx, out, *dir, *hubs, *pubs, *runPubs)
	case "down":
		return down(ctx, out, statePath)
	case "status":
		return status(ctx, out, statePath)
	case "env":
		w, err := testworld.Own(statePath)
		if err != nil {
			return err
		}
		abs, _ := filepath.Abs(statePath)
		fmt.Fprintf(out, "export BUTTCTL_INVENTORY=%s\nexport %s=%s\n", w.InventoryPath, testworld.EnvWorld, abs)
		return nil
	case "hub":
		if len(pos) != 2 {
			return usageError{errors.New("usage: world hub poweroff|poweron|cut|restore|restart-engine|stop-engine|start-engine|kill-sshd|start-sshd <hub> [--dir D]")}
		}
		return hubAction(ctx, statePath, pos[0], pos[1])
	case "wait-healthy":
		return waitHealthy(ctx, out, statePath)
	case "pub-image":
		docker, err := testworld.LocalDocker()
		if err != nil {
			return err
		}
		defer docker.Close()
		if err := testworld.BuildPubImage(ctx, docker); err != nil {
			return err
		}
		fmt.Fprintf(out, "%s is on this machine's engine\n", testworld.PubImage)
		return nil
	case "clean-leftovers":
		stopped, err := testworld.CleanLeftovers(ctx)
		for _, id := range stopped {
			fmt.Fprintf(out, "stopped leftover world %s\n", id)
		}
		return err
	default:
		return usageError{fmt.Errorf("unknown command %q\n%s", verb, usage)}
	}
}

func up(ctx context.Context, out io.Writer, dir string, hubs, pubs int, runPubs bool) error {
	t0 := time.Now()
	w, err := testworld.Start(ctx, testworld.Options{
		Hubs: hubs, Dir: dir, Persistent: true,
		Logf: func(f string, a ...any) { fmt.Fprintf(out, f+"\n", a...) },
	})
	if err != nil {
		return err
	}
	var specs []testworld.Pub
	for i := range pubs {
		h := w.Hubs[i%len(w.Hubs)]
		p := testworld.Pub{Name: fmt.Sprintf("pub-%d", i+1), Hub: h.Name, Port: 8008 + i/len(w.Hubs)}
		if runPubs {
			if _, err := h.RunPub(ctx, p, ""); err != nil {
				return err
			}
		}
		specs = append(specs, p)
	}
	if len(specs) > 0 {
		if err := w.WriteInventory(w.InventoryPath, specs...); err != nil {
			return err
		}
		if runPubs {
			fmt.Fprintf(out, "started %d pubs (directly on the hubs' engines)\n", len(specs))
		} else {
			fmt.Fprintf(out, "%d pubs in the inventory, not started\n", len(specs))
		}
	}
	fmt.Fprintf(out, "world %s up in %s: %d hubs\ninventory: %s\nstop it:   world down --dir %s (make clean-world for .world)\n",
		w.ID, time.Since(t0).Round(time.Millisecond), len(w.Hubs), w.InventoryPath, dir)
	return nil
}

func down(ctx context.Context, out io.Writer, statePath string) error {
	var errs []error
	if w, err := testworld.Own(statePath); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(out, "no world recorded in %s\n", statePath)
	} else if err != nil {
		errs = append(errs, err)
	} else if err := w.Stop(ctx); err != nil {
		errs = append(errs, err)
	} else {
		fmt.Fprintf(out, "stopped world %s\n", w.ID)
	}
	stopped, err := testworld.CleanLeftovers(ctx)
	for _, id := range stopped {
		fmt.Fprintf(out, "stopped leftover world %s\n", id)
	}
	return errors.Join(append(errs, err)...)
}

func status(ctx context.Context, out io.Writer, statePath string) error {
	w, err := testworld.Own(statePath)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "world %s (%s), inventory %s\n", w.ID, w.Network.Subnet, w.InventoryPath)
	for _, h := range w.Hubs {
		sshd, eng := "up", "up"
		if err := h.SSHUp(ctx); err != nil {
			sshd = "DOWN (" + err.Error() + ")"
		}
		if err := h.EngineUp(ctx); err != nil {
			eng = "DOWN"
		}
		fmt.Fprintf(out, "\n%s  %s  sshd %s  engine %s  (logs: %s)\n", h.Name, h.Address, sshd, eng, filepath.Join(h.Dir, "log"))
		if eng != "up" {
			continue
		}
		c, err := h.DockerClient()
		if err != nil {
			return err
		}
		res, err := c.ContainerList(ctx, client.ContainerListOptions{All: true})
		c.Close()
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  CONTAINER\tIMAGE\tSTATUS\tPUB\tIDENTITY")
		for _, ct := range res.Items {
			name := strings.TrimPrefix(strings.Join(ct.Names, ","), "/")
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", name, ct.Image, ct.Status, ct.Labels[engine.LabelPub], identity(ctx, h, ct.ID, ct.State))
		}
		tw.Flush()
	}
	return nil
}

// waitHealthy polls every hub until each container labelled buttctl.managed
// reports healthy, for at most a minute.
func waitHealthy(ctx context.Context, out io.Writer, statePath string) error {
	w, err := testworld.Own(statePath)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		var waiting []string
		for _, h := range w.Hubs {
			c, err := h.DockerClient()
			if err != nil {
				return err
			}
			res, err := c.ContainerList(ctx, client.ContainerListOptions{All: true,
				Filters: make(client.Filters).Add("label", engine.LabelManaged+"=true")})
			if err != nil {
				waiting = append(waiting, h.Name+": "+err.Error())
			}
			for _, ct := range res.Items {
				// Health in a container list needs API 1.52; hubs run 1.41.
				insp, err := c.ContainerInspect(ctx, ct.ID, client.ContainerInspectOptions{})
				st := insp.Container.State
				if err != nil || st == nil || st.Health == nil || st.Health.Status != container.Healthy {
					waiting = append(waiting, h.Name+"/"+ct.Labels[engine.LabelPub])
				}
			}
			c.Close()
		}
		if len(waiting) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not healthy after a minute: %s", strings.Join(waiting, ", "))
		case <-tick.C:
		}
	}
}

// identity is a running pub's SSB id, asked with `sbot whoami`.
func identity(ctx context.Context, h *testworld.Hub, id string, state container.ContainerState) string {
	if state != container.StateRunning {
		return "-"
	}
	res, err := h.ExecIn(ctx, id, "sbot", "whoami")
	if err != nil || res.ExitCode != 0 {
		return "?"
	}
	var who struct{ ID string }
	if json.Unmarshal([]byte(res.Stdout), &who) != nil {
		return "?"
	}
	return who.ID
}

func hubAction(ctx context.Context, statePath, action, hubName string) error {
	w, err := testworld.Own(statePath)
	if err != nil {
		return err
	}
	h := w.Hub(hubName)
	if h == nil {
		return fmt.Errorf("no hub %q in world %s", hubName, w.ID)
	}
	actions := map[string]func(context.Context) error{
		"poweroff": h.PowerOff, "poweron": h.PowerOn,
		"cut": h.CutNetwork, "restore": h.RestoreNetwork,
		"restart-engine": h.RestartEngine, "stop-engine": h.StopEngine, "start-engine": h.StartEngine,
		"kill-sshd": h.KillSSHD, "start-sshd": h.StartSSHD,
	}
	fn, ok := actions[action]
	if !ok {
		return usageError{fmt.Errorf("unknown hub action %q", action)}
	}
	return fn(ctx)
}
