package identity_test

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/buttctl/buttctl/ops/identity"
	"github.com/buttctl/buttctl/ops/pubspec"
	"github.com/buttctl/buttctl/ops/testworld"
)

// BenchmarkMove100MB moves a pub with 100 MB of data between two hubs of
// the test world, and in the same run streams the same bytes by hand with
// OpenSSH and tar (ssh A tar -C <volume dir> -c . | ssh B tar -C <dir> -x),
// the floor a move cannot beat. It reports move/floor: the whole move
// (stop, copy, start, whoami, inventory, removal) over the bare stream.
func BenchmarkMove100MB(b *testing.B) {
	w := testworld.ForTest(b, 2)
	port, err := w.AllocPort()
	if err != nil {
		b.Fatal(err)
	}
	pub := testworld.UniqueName("bench")
	f := newWorldFleet(b, w, testworld.Pub{Name: pub, Hub: "hub-1", Port: port})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	if _, err := f.svc.Create(ctx, pub); err != nil {
		b.Fatal(err)
	}
	f.whoamiOn("hub-1", pub)
	fillData(b, f.svc, pub, 100<<20)

	// The machine is shared: each op runs rounds of floor and move,
	// alternating, and the ratios use the best round of each.
	const rounds = 3
	var best struct{ move, floor, copy time.Duration }
	var moved, floor time.Duration
	var bytes int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for r := 0; r < rounds; r++ {
			from := f.hubInFile(pub)
			to := other(from)

			start := time.Now()
			floorRun(b, w, from, to, pub)
			d := time.Since(start)
			floor += d
			best.floor = minPositive(best.floor, d)

			var copyStart, copyEnd time.Time
			start = time.Now()
			res, err := identity.Move(ctx, f.reload(), f.store, pub, identity.MoveOptions{To: to, PurgeSource: true,
				BeforeStep: func(s identity.Step) error {
					switch s {
					case identity.StepCopy:
						copyStart = time.Now()
					case identity.StepVerifySecret:
						copyEnd = time.Now()
					}
					return nil
				}})
			d = time.Since(start)
			if err != nil {
				b.Fatal(err)
			}
			moved += d
			best.move = minPositive(best.move, d)
			best.copy = minPositive(best.copy, copyEnd.Sub(copyStart))
			bytes += res.Bytes
		}
	}
	b.StopTimer()
	b.ReportMetric(best.move.Seconds()/best.floor.Seconds(), "move/floor")
	b.ReportMetric(moved.Seconds()/floor.Seconds(), "move/floor-mean")
	b.ReportMetric(best.copy.Seconds()/best.floor.Seconds(), "copy/floor")
	b.ReportMetric(best.floor.Seconds(), "floor-s")
	b.ReportMetric(best.move.Seconds(), "move-s")
	b.ReportMetric(float64(bytes)/1e6/moved.Seconds(), "MB/s")
}

func minPositive(a, b time.Duration) time.Duration {
	if a == 0 || b < a {
		return b
	}
	return a
}

// floorRun streams the pub's data directory from hub from to a scratch
// directory on hub to with two OpenSSH clients and tar, then removes it.
func floorRun(b *testing.B, w *testworld.World, from, to, pub string) {
	b.Helper()
	ctx := context.Background()
	src := "/var/lib/docker/volumes/" + pubspec.VolumeName(pub) + "/_data"
	dst := "/home/debian/floor-" + pub
	if _, err := w.Hub(to).Exec(ctx, "install", "-d", "-o", "debian", dst); err != nil {
		b.Fatal(err)
	}
	defer func() { _, _ = w.Hub(to).Exec(ctx, "rm", "-rf", dst) }()
	// Set-up, not measured: the hub's user may read the volume (docker's
	// directories are root's). Only the floor reads it this way.
	for _, argv := range [][]string{
		{"chmod", "o+x", "/var/lib/docker", "/var/lib/docker/volumes", "/var/lib/docker/volumes/" + pubspec.VolumeName(pub)},
		{"chmod", "-R", "o+rX", src},
	} {
		if out, err := w.Hub(from).Exec(ctx, argv...); err != nil {
			b.Fatalf("%v: %s", err, out)
		}
	}
	ssh := func(hub string, argv ...string) *exec.Cmd {
		h := w.Hub(hub)
		return exec.Command("ssh", append([]string{"-i", w.IdentityFile, "-o", "UserKnownHostsFile=" + w.KnownHosts,
			"-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-l", w.User, h.Address}, argv...)...)
	}
	reader := ssh(from, "tar", "-C", src, "-c", ".")
	writer := ssh(to, "tar", "-C", dst, "-x")
	pipe, err := reader.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	writer.Stdin = pipe
	var rerr, werr strings.Builder
	reader.Stderr, writer.Stderr = &rerr, &werr
	if err := writer.Start(); err != nil {
		b.Fatal(err)
	}
	if err := reader.Run(); err != nil {
		b.Fatalf("ssh %s tar -c: %v: %s", from, err, rerr.String())
	}
	if err := writer.Wait(); err != nil {
		b.Fatalf("ssh %s tar -x: %v: %s", to, err, werr.String())
	}
	out, err := w.Hub(to).Exec(ctx, "du", "-sb", dst)
	if err != nil || !strings.HasPrefix(out, fmt.Sprint(100 << 20)[:3]) {
		b.Fatalf("the floor copied %q (%v), want about 100 MB", out, err)
	}
}
