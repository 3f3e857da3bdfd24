package hubs

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/client"

	"github.com/buttctl/buttctl/ops/engine"
	"github.com/buttctl/buttctl/ops/hubconn"
)

// Facts is what buttctl knows about a hub. Unknown values are zero: a hub
// that is unreachable has only Hub, Address, Reachable and Error.
type Facts struct {
	Hub       string `json:"hub"`
	Address   string `json:"address,omitempty"`
	Local     bool   `json:"local"`
	Reachable bool   `json:"reachable"`
	Error     string `json:"error,omitempty"`
	// SSHLatencyMS is one SSH round trip on the established connection.
	SSHLatencyMS  float64    `json:"ssh_latency_ms"`
	OS            string     `json:"os"`
	Kernel        string     `json:"kernel"`
	UptimeSeconds int64      `json:"uptime_seconds"`
	Load          [3]float64 `json:"load"`
	// DiskFreeBytes is the space left where Docker keeps its data
	// (/var/lib/docker, or / when that is missing), at DiskPath.
	DiskFreeBytes  int64  `json:"disk_free_bytes"`
	DiskTotalBytes int64  `json:"disk_total_bytes"`
	DiskPath       string `json:"disk_path"`
	// DockerVersion comes from the hub's Docker API, through the SSH connection.
	DockerVersion string `json:"docker_version"`
	DockerError   string `json:"docker_error,omitempty"`
}

// FactsOptions tune Gather.
type FactsOptions struct {
	Parallel int           // hubs at once (DefaultParallel)
	Timeout  time.Duration // per hub (0 = none)
}

// factsScript prints the facts in one round trip. It is a constant: nothing
// from the inventory or the command line goes into it.
const factsScript = `uname -sr; echo @@; cat /etc/os-release 2>/dev/null; echo @@; cat /proc/uptime; echo @@; cat /proc/loadavg; echo @@; (df -Pk /var/lib/docker 2>/dev/null || df -Pk /) | tail -n 1`

// Gather collects the facts of every hub named, in the order given.
func Gather(ctx context.Context, conns *hubconn.Conns, hubs []string, opts FactsOptions) []Facts {
	out := make([]Facts, len(hubs))
	forEach(len(hubs), opts.Parallel, func(i int) {
		hctx := ctx
		if opts.Timeout > 0 {
			var cancel context.CancelFunc
			hctx, cancel = context.WithTimeout(ctx, opts.Timeout)
			defer cancel()
		}
		out[i] = gatherOne(hctx, conns, hubs[i])
	})
	return out
}

func gatherOne(ctx context.Context, conns *hubconn.Conns, name string) Facts {
	f := Facts{Hub: name}
	h, err := conns.Hub(name)
	if err != nil {
		f.Error = err.Error()
		return f
	}
	f.Address, f.Local = h.Address, h.Local
	if !h.Local {
		rtt, err := conns.Ping(ctx, name)
		if err != nil {
			f.Error = err.Error()
			return f
		}
		f.SSHLatencyMS = float64(rtt.Microseconds()) / 1000
	}
	f.Reachable = true

	var wg sync.WaitGroup
	wg.Go(func() {
		f.DockerVersion, err = DockerVersion(ctx, conns, name)
		if err != nil {
			f.DockerError = err.Error()
		}
	})
	res, runErr := conns.Run(ctx, name, []string{"sh", "-c", factsScript})
	wg.Wait()
	if runErr != nil {
		f.Error = runErr.Error()
		return f
	}
	parseFacts(&f, string(res.Stdout))
	return f
}

// DockerVersion asks hub's Docker engine for its version, through the hub's
// connection.
func DockerVersion(ctx context.Context, conns *hubconn.Conns, hub string) (string, error) {
	h, err := conns.Hub(hub)
	if err != nil {
		return "", err
	}
	e, err := engine.New(hub, h.DockerSocket, conns.DockerDialer(hub))
	if err != nil {
		return "", err
	}
	defer e.Close()
	api, err := e.API(ctx)
	if err != nil {
		return "", err
	}
	v, err := api.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		return "", fmt.Errorf("%s: docker version: %w", hub, err)
	}
	return v.Version, nil
}

// parseFacts reads factsScript's output.
func parseFacts(f *Facts, out string) {
	parts := strings.Split(out, "@@\n")
	for len(parts) < 5 {
		parts = append(parts, "")
	}
	f.Kernel = strings.TrimSpace(parts[0])
	f.OS = osName(parts[1])
	if fields := strings.Fields(parts[2]); len(fields) > 0 {
		if up, err := strconv.ParseFloat(fields[0], 64); err == nil {
			f.UptimeSeconds = int64(up)
		}
	}
	if fields := strings.Fields(parts[3]); len(fields) >= 3 {
		for i := range 3 {
			f.Load[i], _ = strconv.ParseFloat(fields[i], 64)
		}
	}
	// df -P: filesystem, 1024-blocks, used, available, capacity, mounted on.
	if fields := strings.Fields(parts[4]); len(fields) >= 6 {
		total, _ := strconv.ParseInt(fields[1], 10, 64)
		avail, _ := strconv.ParseInt(fields[3], 10, 64)
		f.DiskTotalBytes, f.DiskFreeBytes = total*1024, avail*1024
		f.DiskPath = fields[len(fields)-1]
	}
}

// osName is PRETTY_NAME from an os-release file (or NAME VERSION_ID).
func osName(osRelease string) string {
	vals := map[string]string{}
	for _, line := range strings.Split(osRelease, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			continue
		}
		if uq, err := strconv.Unquote(v); err == nil {
			v = uq
		} else {
			v = strings.Trim(v, `'"`)
		}
		vals[k] = v
	}
	if v := vals["PRETTY_NAME"]; v != "" {
		return v
	}
	return strings.TrimSpace(vals["NAME"] + " " + vals["VERSION_ID"])
}
