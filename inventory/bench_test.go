package inventory

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile("testdata/full.yaml")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse("full.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEdit compares an edit made in place in the text with the same
// edit made by re-encoding the node tree (forced here by CRLF line ends),
// and reports how many times slower re-encoding is.
func BenchmarkEdit(b *testing.B) {
	data, err := os.ReadFile("testdata/full.yaml")
	if err != nil {
		b.Fatal(err)
	}
	crlf := []byte(strings.ReplaceAll(string(data), "\n", "\r\n"))
	edit := func(text []byte) time.Duration {
		start := time.Now()
		e, err := newEditor("b.yaml", text)
		if err != nil {
			b.Fatal(err)
		}
		if err := e.SetPubState("scuttle-1", StateStopped); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	var inPlace, reencode time.Duration
	for b.Loop() {
		inPlace += edit(data)
		reencode += edit(crlf)
	}
	b.ReportMetric(float64(inPlace.Nanoseconds())/float64(b.N), "ns/inplace-edit")
	b.ReportMetric(float64(reencode)/float64(inPlace), "reencode/inplace")
}

// BenchmarkSave is one atomic save (two fsynced files, a rename, a
// directory fsync) of an edited inventory, lock included.
func BenchmarkSave(b *testing.B) {
	data, err := os.ReadFile("testdata/full.yaml")
	if err != nil {
		b.Fatal(err)
	}
	p := filepath.Join(b.TempDir(), "buttctl.yaml")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		b.Fatal(err)
	}
	states := []string{StateStopped, StateRunning}
	i := 0
	for b.Loop() {
		e, err := Edit(p)
		if err != nil {
			b.Fatal(err)
		}
		if err := e.SetPubState("scuttle-1", states[i%2]); err != nil {
			b.Fatal(err)
		}
		if err := e.Save(); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
