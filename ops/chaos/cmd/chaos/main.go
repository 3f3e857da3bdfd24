// Command chaos runs buttctl's chaos soak (package ops/chaos): `make chaos`
// and `make test` use it.
//
//	chaos [--duration 10m] [--seed N] [--hubs 3] [--pubs 12] [--dir .chaos] [--buttctl bin/buttctl]
//
// It prints the seed first (the same seed injects the same faults), then
// progress, then the report, which it also writes as report.txt and
// report.json in --dir. It exits 0 when every assertion held, 1 when one
// failed, 2 on bad usage.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/buttctl/buttctl/ops/chaos"
)

func main() {
	fs := flag.NewFlagSet("chaos", flag.ContinueOnError)
	duration := fs.Duration("duration", 10*time.Minute, "how long to inject faults (checkpoints included)")
	seedFlag := fs.String("seed", "", "seed of every random choice (default: from the clock)")
	hubs := fs.Int("hubs", 3, "hubs in the test world (at least 3)")
	pubs := fs.Int("pubs", 12, "pubs (at least 12)")
	dir := fs.String("dir", ".chaos", "directory for the world, inventory, logs and report")
	bin := fs.String("buttctl", "bin/buttctl", "the buttctl binary under test")
	checkpoint := fs.Duration("checkpoint", time.Minute, "time between checkpoints")
	meanGap := fs.Duration("mean-gap", 6*time.Second, "mean time between faults")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	seed := uint64(time.Now().UnixNano())
	if *seedFlag != "" {
		s, err := strconv.ParseUint(*seedFlag, 10, 64)
		if err != nil {
			fmt.Fprintf(os.Stderr, "chaos: --seed %q: want a whole number\n", *seedFlag)
			os.Exit(2)
		}
		seed = s
	}
	abs, err := filepath.Abs(*bin)
	if err == nil {
		_, err = os.Stat(abs)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "chaos: --buttctl %s: %v (make build makes it)\n", *bin, err)
		os.Exit(2)
	}
	fmt.Printf("chaos: seed %d (run these faults again: CHAOS_SEED=%d make chaos)\n", seed, seed)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	logf := func(format string, args ...any) {
		fmt.Printf("[%6.1fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}
	rep, err := chaos.Run(ctx, chaos.Options{Duration: *duration, Seed: seed, Hubs: *hubs, Pubs: *pubs, Dir: *dir,
		Buttctl: abs, Checkpoint: *checkpoint, MeanGap: *meanGap, Logf: logf})
	if err != nil {
		fmt.Fprintf(os.Stderr, "chaos: %v (seed %d; logs in %s)\n", err, seed, *dir)
		os.Exit(1)
	}
	fmt.Println()
	rep.WriteText(os.Stdout)
	if err := writeReport(*dir, rep); err != nil {
		fmt.Fprintf(os.Stderr, "chaos: writing the report: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("\nreport: %s, %s; logs: %s\n", filepath.Join(*dir, "report.txt"), filepath.Join(*dir, "report.json"), *dir)
	if !rep.Passed() {
		os.Exit(1)
	}
}

func writeReport(dir string, rep *chaos.Report) error {
	f, err := os.Create(filepath.Join(dir, "report.txt"))
	if err != nil {
		return err
	}
	if err := rep.WriteText(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "report.json"), append(js, '\n'), 0o644)
}
