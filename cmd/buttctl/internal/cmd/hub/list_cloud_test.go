package hub

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/output"
	"github.com/buttctl/buttctl/ops/hubs"
	"github.com/buttctl/buttctl/ops/provision"
)

// Rendering the cloud's view is a pure function of provision.CloudState's
// result (which is tested against the real OpenStack in ops/cloud/openstacktest).
func TestListRowsWithCloudView(t *testing.T) {
	created := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	now := created.Add(3*24*time.Hour + time.Hour)
	cv := cloudView{shown: true, byHub: map[string]provision.CloudHub{
		"hub-1": {Hub: "hub-1", ServerID: "6f1c", Status: "ACTIVE", Flavor: "s1-2", Addresses: []string{"203.0.113.10", "2001:db8::10"}, Created: created},
		"hub-2": {Hub: "hub-2", ServerID: "7a2d", Status: "missing"},
	}, stray: []provision.CloudHub{{Hub: "hub-9", ServerID: "9e9e", Status: "SHUTOFF", Flavor: "s1-4", Created: created, Stray: true}}}
	facts := []hubs.Facts{
		{Hub: "hub-1", Reachable: true, OS: "Debian GNU/Linux 12", DockerVersion: "20.10.24", UptimeSeconds: 3600},
		{Hub: "hub-2", Reachable: false, Error: "hub-2: ssh: connection refused"},
		{Hub: "local", Local: true, Reachable: true, OS: "Debian GNU/Linux 12", DockerVersion: "20.10.24"},
	}
	rows := listRows(facts, cv)
	if len(rows) != 4 || !rows[3].Stray || rows[2].Cloud != nil {
		t.Fatalf("rows %+v", rows)
	}
	var lines []string
	for _, r := range rows {
		var texts []string
		for _, c := range listRowCells(r, true, false, false, now) {
			texts = append(texts, c.Text)
		}
		lines = append(lines, strings.Join(texts, "|"))
	}
	want := []string{
		"hub-1|reachable|0.0ms|Debian GNU/Linux 12|1h0m|0.00 0.00 0.00|0B|20.10.24|ACTIVE|s1-2|2026-11-20T09:00:00Z",
		"hub-2|unreachable|-|-|-|-|-|-|missing|-|-",
		"local|local|-|Debian GNU/Linux 12|0m|0.00 0.00 0.00|0B|20.10.24|-|-|-",
		"hub-9|stray|-|-|-|-|-|-|SHUTOFF|s1-4|2026-11-20T09:00:00Z",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	tty := listRowCells(rows[0], true, true, true, now)
	if tty[10].Text != "3d" || tty[len(tty)-1].Text != "203.0.113.10,2001:db8::10" || tty[len(tty)-2].Text != "6f1c" || tty[8].Color != output.Green {
		t.Errorf("wide tty row %+v", tty)
	}

	b, err := json.Marshal(rows)
	if err != nil {
		t.Fatal(err)
	}
	var generic []map[string]any
	if err := json.Unmarshal(b, &generic); err != nil {
		t.Fatal(err)
	}
	if generic[0]["hub"] != "hub-1" || generic[0]["cloud"].(map[string]any)["status"] != "ACTIVE" || generic[3]["stray"] != true || generic[2]["cloud"] != nil {
		t.Errorf("json %s", b)
	}
}

func TestListWithoutCloudHasNoCloudColumns(t *testing.T) {
	f, out, _ := testFactory(t, loadInventory(t, `version: 1
hubs:
  - {name: local, local: true}
`))
	opts := &ListOptions{IO: f.IOStreams, Conns: f.Conns, Output: output.Table, Parallel: 1, Timeout: 10 * time.Second}
	if err := listRun(opts); err != nil {
		t.Fatal(err)
	}
	header := strings.SplitN(out.String(), "\n", 2)[0]
	if strings.Contains(header, "CLOUD") || !strings.HasPrefix(header, "HUB\tSTATUS") {
		t.Errorf("header %q", header)
	}
}

func TestFormatAge(t *testing.T) {
	for d, want := range map[time.Duration]string{30 * time.Second: "30s", 5 * time.Minute: "5m", 30 * time.Hour: "30h", 100 * time.Hour: "4d"} {
		if got := formatAge(d); got != want {
			t.Errorf("formatAge(%v) = %q, want %q", d, got, want)
		}
	}
}
