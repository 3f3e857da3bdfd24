package hub

import (
	"strings"
	"testing"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/iostreams"
	"github.com/buttctl/buttctl/ops/provision"
)

func TestProgressOffTTYIsOneLinePerEvent(t *testing.T) {
	io, _, out, errOut := iostreams.Test()
	p := newProgress(io)
	for _, e := range []provision.Event{
		{Hub: "hub-2", Step: "boot", Status: "done", Message: "server 6f1c accepted"},
		{Hub: "hub-2", Step: "status", Status: "BUILD", Message: "server 6f1c is BUILD"},
		{Hub: "hub-2", Step: "status", Status: "ACTIVE", Message: "server 6f1c is ACTIVE"},
	} {
		p.event(e)
	}
	p.close()
	want := "hub-2: server 6f1c accepted\nhub-2: server 6f1c is BUILD\nhub-2: server 6f1c is ACTIVE\n"
	if errOut.String() != want || out.Len() != 0 {
		t.Errorf("stderr %q, stdout %q; want on stderr %q", errOut, out, want)
	}
}

func TestProgressOnTTYKeepsFinishedStepsAndClearsTheSpinner(t *testing.T) {
	io, _, _, errOut := iostreams.Test()
	io.SetTTY(false, false, true)
	p := newProgress(io)
	p.event(provision.Event{Hub: "hub-2", Step: "boot", Status: "done", Message: "server 6f1c accepted"})
	p.event(provision.Event{Hub: "hub-2", Step: "status", Status: "BUILD", Message: "server 6f1c is BUILD"})
	p.event(provision.Event{Hub: "hub-2", Step: "status", Status: "ACTIVE", Message: "server 6f1c is ACTIVE"})
	p.close()
	got := errOut.String()
	if !strings.Contains(got, "✓ hub-2: server 6f1c accepted\n") || !strings.Contains(got, "✓ hub-2: server 6f1c is ACTIVE\n") {
		t.Errorf("stderr %q lacks the finished steps", got)
	}
	if strings.Contains(got, "✓ hub-2: server 6f1c is BUILD") {
		t.Errorf("a passing status was printed as finished: %q", got)
	}
}
