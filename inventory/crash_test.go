package inventory

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const crashFixture = `# an inventory a writer keeps changing
version: 1
hubs:
  - {name: local, local: true} # this machine
pubs:
  # the pub whose state flips
  - name: a
    hub: local
    state: running
`

// TestKillDuringSave kills -9 a process in the middle of saving, 200 times:
// first at each step of a save in turn (the writer stops there and waits to
// be killed), then at random moments of a free-running writer. After every
// kill the inventory and its .bak must load as valid inventories, comments
// intact, and the lock must be free at once.
func TestKillDuringSave(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "buttctl.yaml")
	if err := os.WriteFile(p, []byte(crashFixture), 0o644); err != nil {
		t.Fatal(err)
	}
	steps := []string{"temp-created", "temp-half-written", "temp-synced", "renamed", "bak-written"}
	const iterations = 200
	rng := rand.New(rand.NewPCG(1, 2))
	killedAt := map[string]int{}
	for i := range iterations {
		var h *helper
		if i < iterations/2 {
			step := steps[i%len(steps)]
			// Each save writes the .bak then the file: occurrences 1 and 2 of
			// a write step are in the first save, 3 and 4 in the second.
			n := 1 + (i/len(steps))%4
			if step == "bak-written" {
				n = 1 + (i/len(steps))%2
			}
			h = startHelper(t, "saver", p, "HELPER_BLOCK_AT="+step+"#"+itoa(n))
			h.expect(t, "blocked")
			killedAt[step]++
		} else {
			h = startHelper(t, "saver", p)
			for range 1 + rng.IntN(40) {
				h.expect(t, "")
			}
			killedAt["random"]++
		}
		h.kill(t)
		checkSurvivor(t, p, i)
		checkSurvivor(t, p+".bak", i)
		unlock, err := Lock(context.Background(), p, LockOptions{})
		if err != nil {
			t.Fatalf("iteration %d: the killed writer's lock is still held: %v", i, err)
		}
		unlock()
	}
	t.Logf("kills by step: %v", killedAt)
}

func checkSurvivor(t *testing.T, path string, i int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) && strings.HasSuffix(path, ".bak") {
		return // no save finished yet
	}
	if err != nil {
		t.Fatalf("iteration %d: %v", i, err)
	}
	inv, err := Parse(path, data)
	if err != nil {
		t.Fatalf("iteration %d: %s is invalid after a kill:\n%v\n%s", i, path, err, data)
	}
	if a, ok := inv.Pub("a"); !ok || a.Hub != "local" {
		t.Fatalf("iteration %d: pub a lost:\n%s", i, data)
	}
	for _, c := range []string{"# an inventory a writer keeps changing", "# this machine", "# the pub whose state flips"} {
		if !strings.Contains(string(data), c) {
			t.Fatalf("iteration %d: comment %q lost:\n%s", i, c, data)
		}
	}
}
