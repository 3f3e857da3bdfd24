package chaos

import (
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Fault is one fault the driver injected, and how the fleet recovered.
type Fault struct {
	Kind string `json:"kind"`
	// Target is the pub or hub it hit ("" for watch, apply).
	Target string `json:"target,omitempty"`
	// Pubs are the pubs it touched (a hub's pubs for hub faults).
	Pubs []string  `json:"pubs,omitempty"`
	At   time.Time `json:"at"`
	// HoldS is how long the fault lasted before it was undone (cuts, outages).
	HoldS float64 `json:"hold_s,omitempty"`
	// Error: the injection itself failed (nothing to recover from).
	Error string `json:"error,omitempty"`
	// Recovered: the fleet was whole again RecoverS seconds after At.
	Recovered bool    `json:"recovered"`
	RecoverS  float64 `json:"recover_s,omitempty"`
	// Problem says what was still wrong when the driver stopped waiting, or
	// what recovered wrong (an identity changed).
	Problem string `json:"problem,omitempty"`
	// Note says what else happened (pubs reallocated, applies retried).
	Note string `json:"note,omitempty"`
}

// KindStats sums up the faults of one kind.
type KindStats struct {
	Kind           string  `json:"kind"`
	Injected       int     `json:"injected"`
	InjectFailed   int     `json:"inject_failed"`
	Recovered      int     `json:"recovered"`
	NeverRecovered int     `json:"never_recovered"`
	P50S           float64 `json:"p50_s"`
	P95S           float64 `json:"p95_s"`
	MaxS           float64 `json:"max_s"`
}

// Checkpoint is one pause of the faults in which the fleet had to converge.
type Checkpoint struct {
	At time.Time `json:"at"`
	// ConvergedS is how long the fleet took to pass every check (after the
	// faults in flight ended); absent when it never did.
	ConvergedS float64  `json:"converged_s,omitempty"`
	Passed     bool     `json:"passed"`
	Problems   []string `json:"problems,omitempty"`
	Final      bool     `json:"final,omitempty"`
}

// Duplicates sums up the times one pub ran on two hubs at once.
type Duplicates struct {
	Windows int                `json:"windows"`
	TotalS  float64            `json:"total_s"`
	MaxS    float64            `json:"max_s"`
	ByPub   map[string]float64 `json:"by_pub_s,omitempty"`
}

// Report is the outcome of a soak.
type Report struct {
	Seed        uint64       `json:"seed"`
	Duration    string       `json:"duration"`
	Started     time.Time    `json:"started"`
	Ended       time.Time    `json:"ended"`
	Hubs        int          `json:"hubs"`
	Pubs        int          `json:"pubs"`
	Kinds       []KindStats  `json:"kinds"`
	Faults      []Fault      `json:"faults"`
	Checkpoints []Checkpoint `json:"checkpoints"`
	// Actions counts the audit log's records by source/action/result.
	Actions map[string]int `json:"actions"`
	// MaxRestartsInWindow is the most heals of one pub watch made within
	// crash_loop.window; AllowedRestartsInWindow what the policy allows.
	MaxRestartsInWindow     int        `json:"max_restarts_in_window"`
	MaxRestartsPub          string     `json:"max_restarts_pub,omitempty"`
	AllowedRestartsInWindow int        `json:"allowed_restarts_in_window"`
	Duplicates              Duplicates `json:"duplicates"`
	// WatchStarts counts the starts of buttctl watch (the first and every
	// restart); WatchCrashes the exits the driver did not cause.
	WatchStarts  int `json:"watch_starts"`
	WatchCrashes int `json:"watch_crashes"`
	// Failures are the assertions that failed; none means the soak passed.
	Failures []string `json:"failures"`
}

// Passed reports whether every assertion held.
func (r *Report) Passed() bool { return len(r.Failures) == 0 }

// summarize fills Kinds from Faults, kinds in the order given.
func (r *Report) summarize(kinds []string) {
	r.Kinds = nil
	for _, k := range kinds {
		s := KindStats{Kind: k}
		var times []float64
		for _, f := range r.Faults {
			if f.Kind != k {
				continue
			}
			s.Injected++
			switch {
			case f.Error != "":
				s.InjectFailed++
			case f.Recovered:
				s.Recovered++
				times = append(times, f.RecoverS)
			default:
				s.NeverRecovered++
			}
		}
		s.P50S, s.P95S, s.MaxS = percentile(times, 50), percentile(times, 95), percentile(times, 100)
		r.Kinds = append(r.Kinds, s)
	}
}

// percentile is the nearest-rank p-th percentile of xs (0 when empty).
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	rank = max(1, min(rank, len(s)))
	return s[rank-1]
}

// WriteText writes the report for a person: the verdict, faults by kind,
// checkpoints, actions and failures.
func (r *Report) WriteText(w io.Writer) error {
	verdict := "PASSED"
	if !r.Passed() {
		verdict = fmt.Sprintf("FAILED (%d)", len(r.Failures))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "chaos soak %s: seed %d, %s of faults, %d hubs, %d pubs, %s in all\n\n",
		verdict, r.Seed, r.Duration, r.Hubs, r.Pubs, r.Ended.Sub(r.Started).Round(time.Second))
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FAULT\tINJECTED\tRECOVERED\tNEVER\tINJECT FAILED\tP50\tP95\tMAX")
	for _, k := range r.Kinds {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%.1fs\t%.1fs\t%.1fs\n", k.Kind, k.Injected, k.Recovered, k.NeverRecovered, k.InjectFailed, k.P50S, k.P95S, k.MaxS)
	}
	tw.Flush()
	fmt.Fprintln(&b)
	for i, c := range r.Checkpoints {
		name := fmt.Sprintf("checkpoint %d", i+1)
		if c.Final {
			name = "final check"
		}
		if c.Passed {
			fmt.Fprintf(&b, "%s at %s: passed, converged in %.1fs\n", name, c.At.Format(time.TimeOnly), c.ConvergedS)
		} else {
			fmt.Fprintf(&b, "%s at %s: FAILED\n", name, c.At.Format(time.TimeOnly))
			for _, p := range c.Problems {
				fmt.Fprintf(&b, "  - %s\n", p)
			}
		}
	}
	fmt.Fprintf(&b, "\nrestarts of one pub within crash_loop.window: at most %d (%s); the policy allows %d\n",
		r.MaxRestartsInWindow, r.MaxRestartsPub, r.AllowedRestartsInWindow)
	fmt.Fprintf(&b, "one pub running on two hubs at once: %d times, %.1fs in all, longest %.1fs\n",
		r.Duplicates.Windows, r.Duplicates.TotalS, r.Duplicates.MaxS)
	fmt.Fprintf(&b, "buttctl watch: started %d times, exited on its own %d times\n", r.WatchStarts, r.WatchCrashes)
	if len(r.Actions) > 0 {
		fmt.Fprintln(&b, "\nactions (audit log: source/action/result):")
		keys := make([]string, 0, len(r.Actions))
		for k := range r.Actions {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "  %-40s %d\n", k, r.Actions[k])
		}
	}
	var notes []string
	for _, f := range r.Faults {
		if f.Note != "" && (f.Kind == KindPowerOff || strings.Contains(f.Note, "retried")) {
			notes = append(notes, fmt.Sprintf("%s %s at %s: %s", f.Kind, f.Target, f.At.Format(time.TimeOnly), f.Note))
		}
	}
	if len(notes) > 0 {
		fmt.Fprintln(&b, "\nnotes:")
		for _, n := range notes {
			fmt.Fprintf(&b, "  - %s\n", n)
		}
	}
	var never []string
	for _, f := range r.Faults {
		if f.Error == "" && !f.Recovered {
			never = append(never, fmt.Sprintf("%s %s at %s: %s", f.Kind, f.Target, f.At.Format(time.TimeOnly), f.Problem))
		}
	}
	if len(never) > 0 {
		fmt.Fprintln(&b, "\nnever recovered:")
		for _, n := range never {
			fmt.Fprintf(&b, "  - %s\n", n)
		}
	}
	if len(r.Failures) > 0 {
		fmt.Fprintln(&b, "\nfailures:")
		for _, f := range r.Failures {
			fmt.Fprintf(&b, "  - %s\n", f)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
